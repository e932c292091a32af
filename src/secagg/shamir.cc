#include "secagg/shamir.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"

namespace tributary {
namespace {

constexpr uint64_t kPrime = (uint64_t{1} << 61) - 1;
constexpr int kLimbBytes = 7;  // 56 bits < 61: every limb is a field element

uint64_t Reduce(unsigned __int128 v) {
  // 2^61 = 1 (mod p): fold the high bits onto the low ones.
  uint64_t r = static_cast<uint64_t>(v & kPrime) + static_cast<uint64_t>(v >> 61);
  r = (r & kPrime) + (r >> 61);
  return r >= kPrime ? r - kPrime : r;
}
uint64_t Add(uint64_t a, uint64_t b) { return Reduce(static_cast<unsigned __int128>(a) + b); }
uint64_t Sub(uint64_t a, uint64_t b) { return Add(a, kPrime - b); }
uint64_t Mul(uint64_t a, uint64_t b) { return Reduce(static_cast<unsigned __int128>(a) * b); }
uint64_t Pow(uint64_t base, uint64_t exponent) {
  uint64_t result = 1;
  for (; exponent > 0; exponent >>= 1, base = Mul(base, base)) {
    if (exponent & 1) result = Mul(result, base);
  }
  return result;
}
uint64_t Inverse(uint64_t a) { return Pow(a, kPrime - 2); }  // Fermat; a != 0

uint64_t RandomFieldElement() {
  uint64_t v;
  do {
    randombytes_buf(&v, sizeof(v));
    v &= (uint64_t{1} << 61) - 1;
  } while (v >= kPrime);
  return v;
}

std::array<uint64_t, kShamirLimbs> ToLimbs(const Secret& secret) {
  std::array<uint64_t, kShamirLimbs> limbs{};
  for (int l = 0; l < kShamirLimbs; ++l) {
    const int begin = l * kLimbBytes;
    const int size = std::min(kLimbBytes, static_cast<int>(secret.size()) - begin);
    std::memcpy(&limbs[l], secret.data() + begin, size);
  }
  return limbs;
}

}  // namespace

std::array<uint8_t, kShamirShareBytes> ShamirShare::Serialize() const {
  std::array<uint8_t, kShamirShareBytes> out{};
  std::memcpy(out.data(), &x, sizeof(x));
  std::memcpy(out.data() + 4, y.data(), sizeof(uint64_t) * kShamirLimbs);
  return out;
}

absl::StatusOr<ShamirShare> ShamirShare::Parse(std::span<const uint8_t> bytes) {
  if (bytes.size() != kShamirShareBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a Shamir share has ", kShamirShareBytes, " bytes, not ", bytes.size()));
  }
  ShamirShare share;
  std::memcpy(&share.x, bytes.data(), sizeof(share.x));
  std::memcpy(share.y.data(), bytes.data() + 4, sizeof(uint64_t) * kShamirLimbs);
  for (uint64_t v : share.y) {
    if (v >= kPrime) return absl::InvalidArgumentError("a Shamir share value is out of the field");
  }
  if (share.x == 0) return absl::InvalidArgumentError("a Shamir share's party number is 0");
  return share;
}

absl::StatusOr<std::vector<ShamirShare>> ShamirSplit(const Secret& secret, int threshold,
                                                     std::span<const uint32_t> xs) {
  if (threshold < 1 || static_cast<size_t>(threshold) > xs.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Shamir threshold ", threshold, " must be in [1, ", xs.size(), "]"));
  }
  if (std::set<uint32_t>(xs.begin(), xs.end()).size() != xs.size() ||
      std::find(xs.begin(), xs.end(), 0u) != xs.end()) {
    return absl::InvalidArgumentError("Shamir party numbers must be distinct and >= 1");
  }
  const std::array<uint64_t, kShamirLimbs> limbs = ToLimbs(secret);
  std::vector<ShamirShare> shares(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) shares[i].x = xs[i];
  for (int l = 0; l < kShamirLimbs; ++l) {
    // f(z) = limb + c1 z + ... + c_{t-1} z^{t-1}
    std::vector<uint64_t> coefficients(threshold);
    coefficients[0] = limbs[l];
    for (int c = 1; c < threshold; ++c) coefficients[c] = RandomFieldElement();
    for (ShamirShare& share : shares) {
      uint64_t value = 0;
      for (int c = threshold - 1; c >= 0; --c) value = Add(Mul(value, share.x), coefficients[c]);
      share.y[l] = value;
    }
    sodium_memzero(coefficients.data(), coefficients.size() * sizeof(uint64_t));
  }
  return shares;
}

absl::StatusOr<Secret> ShamirRecover(std::span<const ShamirShare> shares, int threshold) {
  if (threshold < 1 || shares.size() < static_cast<size_t>(threshold)) {
    return absl::FailedPreconditionError(
        absl::StrCat("Shamir recovery needs ", threshold, " shares, has ", shares.size()));
  }
  const std::span<const ShamirShare> used = shares.first(threshold);
  std::set<uint32_t> parties;
  for (const ShamirShare& s : used) {
    if (s.x == 0 || !parties.insert(s.x).second) {
      return absl::InvalidArgumentError("Shamir shares must come from distinct parties >= 1");
    }
  }
  // Lagrange basis at 0: prod_{j != i} x_j / (x_j - x_i).
  std::vector<uint64_t> basis(used.size());
  for (size_t i = 0; i < used.size(); ++i) {
    uint64_t numerator = 1, denominator = 1;
    for (size_t j = 0; j < used.size(); ++j) {
      if (j == i) continue;
      numerator = Mul(numerator, used[j].x % kPrime);
      denominator = Mul(denominator, Sub(used[j].x % kPrime, used[i].x % kPrime));
    }
    basis[i] = Mul(numerator, Inverse(denominator));
  }
  Secret secret{};
  for (int l = 0; l < kShamirLimbs; ++l) {
    uint64_t value = 0;
    for (size_t i = 0; i < used.size(); ++i) value = Add(value, Mul(basis[i], used[i].y[l]));
    const int begin = l * kLimbBytes;
    const int size = std::min(kLimbBytes, static_cast<int>(secret.size()) - begin);
    if (value >> (8 * size) != 0) {
      return absl::DataLossError("Shamir shares do not belong to one secret");
    }
    std::memcpy(secret.data() + begin, &value, size);
  }
  return secret;
}

}  // namespace tributary
