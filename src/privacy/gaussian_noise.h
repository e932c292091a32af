// Gaussian noise for differential privacy, from a ChaCha20 keystream (libsodium): with a secret
// key (the operating system's randomness) nobody can predict or subtract it; with a key derived
// from the run's seed, runs repeat exactly (for experiments; then the noise is no secret to
// whoever knows the seed). Normal values come from the Box-Muller transform over 53-bit uniforms;
// like every floating-point sampler it is not the discrete Gaussian (docs/privacy.md).
#ifndef TRIBUTARY_PRIVACY_GAUSSIAN_NOISE_H_
#define TRIBUTARY_PRIVACY_GAUSSIAN_NOISE_H_

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace tributary {

using NoiseKey = std::array<uint8_t, 32>;

NoiseKey SecretNoiseKey();
NoiseKey SeededNoiseKey(uint64_t seed);

// Draws standard normal values from one key's keystream, in order.
class GaussianStream {
 public:
  explicit GaussianStream(const NoiseKey& key);
  double Next();
  // values[i] += stddev * Next(), in index order.
  void Add(std::span<double> values, double stddev);
  void Add(std::span<float> values, double stddev);

 private:
  double Uniform53();
  void Refill();

  NoiseKey key_;
  uint64_t block_ = 0;  // ChaCha20 block counter of the next refill
  std::vector<uint8_t> buffer_;
  size_t used_ = 0;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace tributary

#endif  // TRIBUTARY_PRIVACY_GAUSSIAN_NOISE_H_
