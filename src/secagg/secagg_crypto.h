// The cryptographic primitives of secure aggregation, all from libsodium: X25519 key pairs and
// key agreement (hashed with both public keys, so both sides derive the same 32-byte key),
// XChaCha20-Poly1305 authenticated encryption of the Shamir shares, and ChaCha20 keystreams as
// masks. Nothing here uses a non-cryptographic generator.
#ifndef TRIBUTARY_SECAGG_SECAGG_CRYPTO_H_
#define TRIBUTARY_SECAGG_SECAGG_CRYPTO_H_

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace tributary {

using PublicKey = std::array<uint8_t, 32>;
using SymmetricKey = std::array<uint8_t, 32>;

struct KeyPair {
  PublicKey public_key{};
  std::array<uint8_t, 32> secret_key{};

  static KeyPair Generate();
  // The key pair of a secret key (the public key is derived), e.g. one recovered from shares.
  static KeyPair FromSecret(const std::array<uint8_t, 32>& secret_key);
};

// BLAKE2b(X25519(mine.secret, theirs) || lower public key || higher public key): the same key on
// both sides. Fails on a degenerate (low-order) public key.
absl::StatusOr<SymmetricKey> AgreeKey(const KeyPair& mine, const PublicKey& theirs);

// 24-byte random nonce, then the ciphertext and its 16-byte tag; `associated` is authenticated,
// not sent.
std::vector<uint8_t> Seal(const SymmetricKey& key, std::span<const uint8_t> plaintext,
                          std::span<const uint8_t> associated);
// Fails when the ciphertext or the associated data were altered, or the key is wrong.
absl::StatusOr<std::vector<uint8_t>> Open(const SymmetricKey& key, std::span<const uint8_t> sealed,
                                          std::span<const uint8_t> associated);

// values[i] += sign * word_i (mod 2^32), word_i the i-th 32-bit word of the ChaCha20 keystream
// of `key` (nonce 0): deterministic in the key, uniform over the ring to whoever lacks it.
void AddMask(const SymmetricKey& key, std::span<uint32_t> values, bool subtract);

}  // namespace tributary

#endif  // TRIBUTARY_SECAGG_SECAGG_CRYPTO_H_
