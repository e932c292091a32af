#include "privacy/gaussian_noise.h"

#include <sodium.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "common/log.h"

namespace tributary {
namespace {

constexpr size_t kBufferBytes = 64 * 1024;  // a multiple of ChaCha20's 64-byte block

void EnsureSodium() {
  static const bool ready = [] {
    if (sodium_init() < 0) {
      LogError("libsodium failed to initialize; no secure randomness for privacy noise");
      std::abort();
    }
    return true;
  }();
  (void)ready;
}

}  // namespace

NoiseKey SecretNoiseKey() {
  EnsureSodium();
  NoiseKey key;
  randombytes_buf(key.data(), key.size());
  return key;
}

NoiseKey SeededNoiseKey(uint64_t seed) {
  EnsureSodium();
  NoiseKey key{};
  uint8_t seed_bytes[8];
  for (int i = 0; i < 8; ++i) seed_bytes[i] = static_cast<uint8_t>(seed >> (8 * i));
  // A hash spreads the 64-bit seed over the whole key.
  crypto_generichash(key.data(), key.size(), seed_bytes, sizeof(seed_bytes), nullptr, 0);
  return key;
}

GaussianStream::GaussianStream(const NoiseKey& key) : key_(key), buffer_(kBufferBytes) {
  EnsureSodium();
  used_ = buffer_.size();
}

void GaussianStream::Refill() {
  static constexpr uint8_t kNonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};
  const uint64_t blocks = buffer_.size() / 64;
  if (block_ + blocks > (uint64_t{1} << 32)) {  // the 32-bit counter would wrap: a new key
    crypto_generichash(key_.data(), key_.size(), key_.data(), key_.size(), nullptr, 0);
    block_ = 0;
  }
  std::memset(buffer_.data(), 0, buffer_.size());
  crypto_stream_chacha20_ietf_xor_ic(buffer_.data(), buffer_.data(), buffer_.size(), kNonce,
                                     static_cast<uint32_t>(block_), key_.data());
  block_ += blocks;
  used_ = 0;
}

double GaussianStream::Uniform53() {
  if (used_ + 8 > buffer_.size()) Refill();
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits |= static_cast<uint64_t>(buffer_[used_ + i]) << (8 * i);
  used_ += 8;
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

double GaussianStream::Next() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  const double u1 = 1.0 - Uniform53();  // (0, 1]: log stays finite
  const double u2 = Uniform53();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  spare_ = radius * std::sin(2.0 * M_PI * u2);
  has_spare_ = true;
  return radius * std::cos(2.0 * M_PI * u2);
}

void GaussianStream::Add(std::span<double> values, double stddev) {
  for (double& v : values) v += stddev * Next();
}

void GaussianStream::Add(std::span<float> values, double stddev) {
  for (float& v : values) v = static_cast<float>(v + stddev * Next());
}

}  // namespace tributary
