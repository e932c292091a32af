// xoshiro256** (Blackman and Vigna): a small, fast generator for the per-coordinate random
// numbers of stochastic quantizers and seeded perturbations, where mt19937_64 would dominate.
// Seeded from a 64-bit seed through SplitMix64, so it stays inside the (seed, round, client,
// purpose) scheme of common/seeded_rng.h.
#ifndef TRIBUTARY_COMMON_FAST_RNG_H_
#define TRIBUTARY_COMMON_FAST_RNG_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tributary {

class FastRng {
 public:
  explicit FastRng(uint64_t seed) {
    for (uint64_t& word : state_) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  // Uniform float in [0, 1) from 24 random bits.
  float UniformFloat() { return static_cast<float>(Next() >> 40) * 0x1.0p-24f; }

  // n uniform 16-bit integers, four per draw (n rounded up to a multiple of 4 is written).
  // Stochastic rounding on a 2^-16 grid is unbiased to within 2^-16 of a quantization step, and
  // a quarter of the draws keep the generator off the critical path.
  void FillUniform16(uint16_t* out, size_t n) {
    for (size_t i = 0; i < n; i += 4) {
      const uint64_t bits = Next();
      std::memcpy(out + i, &bits, sizeof(bits));
    }
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace tributary

#endif  // TRIBUTARY_COMMON_FAST_RNG_H_
