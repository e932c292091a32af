#include "common/seeded_rng.h"

namespace tributary {
namespace {

// SplitMix64 finalizer: a bijective mix with good avalanche, so neighbouring inputs
// (round r and r + 1) give unrelated seeds.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t DeriveSeed(uint64_t run_seed, uint64_t round, uint64_t client, RngPurpose purpose) {
  uint64_t h = Mix(run_seed);
  h = Mix(h ^ round);
  h = Mix(h ^ client);
  return Mix(h ^ static_cast<uint64_t>(purpose));
}

uint64_t UniformBelow(Rng& rng, uint64_t bound) {
  // Lemire's rejection: reject the few values that would make some results more likely.
  const uint64_t threshold = (0 - bound) % bound;
  while (true) {
    const uint64_t x = rng();
    const unsigned __int128 product = static_cast<unsigned __int128>(x) * bound;
    if (static_cast<uint64_t>(product) >= threshold) return static_cast<uint64_t>(product >> 64);
  }
}

}  // namespace tributary
