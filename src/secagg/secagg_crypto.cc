#include "secagg/secagg_crypto.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace tributary {
namespace {

// libsodium must be initialized once before use; thread-safe and idempotent.
void EnsureSodium() {
  static const bool ready = sodium_init() >= 0;
  (void)ready;
}

}  // namespace

KeyPair KeyPair::Generate() {
  EnsureSodium();
  KeyPair pair;
  crypto_box_keypair(pair.public_key.data(), pair.secret_key.data());
  return pair;
}

KeyPair KeyPair::FromSecret(const std::array<uint8_t, 32>& secret_key) {
  EnsureSodium();
  KeyPair pair;
  pair.secret_key = secret_key;
  crypto_scalarmult_base(pair.public_key.data(), pair.secret_key.data());
  return pair;
}

absl::StatusOr<SymmetricKey> AgreeKey(const KeyPair& mine, const PublicKey& theirs) {
  EnsureSodium();
  std::array<uint8_t, crypto_scalarmult_BYTES> shared;
  if (crypto_scalarmult(shared.data(), mine.secret_key.data(), theirs.data()) != 0) {
    return absl::InvalidArgumentError("key agreement with a degenerate public key");
  }
  const bool mine_first = std::lexicographical_compare(
      mine.public_key.begin(), mine.public_key.end(), theirs.begin(), theirs.end());
  const PublicKey& low = mine_first ? mine.public_key : theirs;
  const PublicKey& high = mine_first ? theirs : mine.public_key;
  crypto_generichash_state state;
  SymmetricKey key;
  crypto_generichash_init(&state, nullptr, 0, key.size());
  crypto_generichash_update(&state, shared.data(), shared.size());
  crypto_generichash_update(&state, low.data(), low.size());
  crypto_generichash_update(&state, high.data(), high.size());
  crypto_generichash_final(&state, key.data(), key.size());
  sodium_memzero(shared.data(), shared.size());
  return key;
}

std::vector<uint8_t> Seal(const SymmetricKey& key, std::span<const uint8_t> plaintext,
                          std::span<const uint8_t> associated) {
  EnsureSodium();
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  std::vector<uint8_t> sealed(kNonce + plaintext.size() +
                              crypto_aead_xchacha20poly1305_ietf_ABYTES);
  randombytes_buf(sealed.data(), kNonce);
  unsigned long long length = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(sealed.data() + kNonce, &length, plaintext.data(),
                                             plaintext.size(), associated.data(), associated.size(),
                                             nullptr, sealed.data(), key.data());
  sealed.resize(kNonce + length);
  return sealed;
}

absl::StatusOr<std::vector<uint8_t>> Open(const SymmetricKey& key, std::span<const uint8_t> sealed,
                                          std::span<const uint8_t> associated) {
  EnsureSodium();
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (sealed.size() < kNonce + kTag) return absl::InvalidArgumentError("sealed message too short");
  std::vector<uint8_t> plaintext(sealed.size() - kNonce - kTag);
  unsigned long long length = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          plaintext.data(), &length, nullptr, sealed.data() + kNonce, sealed.size() - kNonce,
          associated.data(), associated.size(), sealed.data(), key.data()) != 0) {
    return absl::InvalidArgumentError("sealed message fails authentication");
  }
  plaintext.resize(length);
  return plaintext;
}

void AddMask(const SymmetricKey& key, std::span<uint32_t> values, bool subtract) {
  EnsureSodium();
  constexpr size_t kChunkWords = 16384;  // 64 KiB of keystream at a time
  std::array<uint8_t, crypto_stream_chacha20_NONCEBYTES> nonce{};
  std::vector<uint32_t> words(std::min(kChunkWords, values.size()));
  for (size_t begin = 0; begin < values.size(); begin += kChunkWords) {
    const size_t n = std::min(kChunkWords, values.size() - begin);
    // The keystream from block begin * 4 / 64 on: chunks are multiples of the 64-byte block.
    std::memset(words.data(), 0, n * sizeof(uint32_t));
    crypto_stream_chacha20_xor_ic(
        reinterpret_cast<uint8_t*>(words.data()), reinterpret_cast<const uint8_t*>(words.data()),
        n * sizeof(uint32_t), nonce.data(), begin * sizeof(uint32_t) / 64, key.data());
    for (size_t i = 0; i < n; ++i) {
      values[begin + i] = subtract ? values[begin + i] - words[i] : values[begin + i] + words[i];
    }
  }
}

}  // namespace tributary
