// Shamir secret sharing of 32-byte secrets over the prime field GF(2^61 - 1): the secret is cut
// into five 56-bit limbs (the last 32 bits), each shared by its own random polynomial of degree
// threshold - 1, so any `threshold` shares recover it and fewer reveal nothing about it. Party
// numbers (x) are 1..2^31; the field has room for any cohort.
#ifndef TRIBUTARY_SECAGG_SHAMIR_H_
#define TRIBUTARY_SECAGG_SHAMIR_H_

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace tributary {

using Secret = std::array<uint8_t, 32>;

inline constexpr int kShamirLimbs = 5;
inline constexpr size_t kShamirShareBytes = 4 + 8 * kShamirLimbs;

struct ShamirShare {
  uint32_t x = 0;  // the holder's party number, >= 1
  std::array<uint64_t, kShamirLimbs> y{};

  // x (4 bytes) then the limbs (8 bytes each), little-endian.
  std::array<uint8_t, kShamirShareBytes> Serialize() const;
  static absl::StatusOr<ShamirShare> Parse(std::span<const uint8_t> bytes);
};

// One share for each party number in `xs` (distinct, >= 1); fails when threshold is not in
// [1, xs.size()]. Coefficients come from the operating system's cryptographic generator.
absl::StatusOr<std::vector<ShamirShare>> ShamirSplit(const Secret& secret, int threshold,
                                                     std::span<const uint32_t> xs);

// The secret from at least `threshold` shares of distinct parties (the first `threshold` are
// used); fails with fewer, with repeated parties, or when the result is not a secret (shares of
// different secrets).
absl::StatusOr<Secret> ShamirRecover(std::span<const ShamirShare> shares, int threshold);

}  // namespace tributary

#endif  // TRIBUTARY_SECAGG_SHAMIR_H_
