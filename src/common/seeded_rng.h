// Every random choice in Tributary draws from a generator seeded by (run seed, round, client,
// purpose), so results do not depend on thread scheduling or on the order of other draws.
#ifndef TRIBUTARY_COMMON_SEEDED_RNG_H_
#define TRIBUTARY_COMMON_SEEDED_RNG_H_

#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>

namespace tributary {

// Distinct streams for distinct uses of randomness. Values are part of the determinism
// contract: changing one changes every result that depends on it.
enum class RngPurpose : uint64_t {
  kPartition = 1,
  kClientSampling = 2,
  kLocalShuffle = 3,
  kModelInit = 4,
  kCodec = 5,
  kAttackers = 6,        // which clients are Byzantine
  kAttack = 7,           // an attacker's random update
  kSystem = 8,           // clients' bandwidths, latencies and speeds
  kAvailability = 9,     // per-round dropouts and crashes
  kControlCodec = 10,    // encoding SCAFFOLD's control variate changes
  kHoldout = 11,         // each client's held-out examples
  kCapacity = 12,        // which clients train a narrower model
  kLoraInit = 13,        // LoRA A matrices (fixed per layer, so FFA-LoRA parties agree)
  kTextSampling = 14,    // tributary generate
  kPrivacyNoise = 15,    // differential privacy noise with privacy.reproducible_noise
  kTestSplit = 16,       // the test examples held out of a user's data without a test split
  kSecAggGraph = 17,     // the neighbourhood graph of a secure aggregation round (public)
  kSecAggRounding = 18,  // a client's stochastic rounding into the secure aggregation ring
  kSecAggDropout = 19,   // simulated dropouts between secure aggregation stages
  kSecAggCodec = 20,     // the uplink codec seed all clients of a secure round share
  kSyntheticData = 21,   // data.dataset = synthetic_images: each generated example
  kSeedPool = 22,        // model.seed_pool: chunk `client` of direction `round` (shared by all)
  kSeedChoice = 23,      // train.optimizer = zo_sgd: which pool seed each local step perturbs along
};

using Rng = std::mt19937_64;

// A well-mixed 64-bit seed for one (run seed, round, client, purpose) stream.
uint64_t DeriveSeed(uint64_t run_seed, uint64_t round, uint64_t client, RngPurpose purpose);

inline Rng MakeRng(uint64_t run_seed, uint64_t round, uint64_t client, RngPurpose purpose) {
  return Rng(DeriveSeed(run_seed, round, client, purpose));
}

// Uniform double in [0, 1) from the generator's next 53 bits; unlike
// std::uniform_real_distribution its result is the same on every standard library.
inline double UniformUnit(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Uniform integer in [0, bound) without modulo bias, identical on every standard library.
uint64_t UniformBelow(Rng& rng, uint64_t bound);

// Fisher-Yates shuffle on UniformBelow, so the permutation is fixed by the seed alone.
template <typename T>
void Shuffle(T* first, size_t size, Rng& rng) {
  for (size_t i = size; i > 1; --i) {
    const size_t j = UniformBelow(rng, i);
    std::swap(first[i - 1], first[j]);
  }
}

}  // namespace tributary

#endif  // TRIBUTARY_COMMON_SEEDED_RNG_H_
