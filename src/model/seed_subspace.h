// SeedSubspace: a model that moves only along K random directions, each generated from a seed of
// a pool every party shares (FedKSeed, Qin et al. 2024): W = W0 + sum_j c_j z_j, with W0 a frozen
// checkpoint and z_j ~ N(0, I) over all of W0's coordinates. The model's state is the K
// coefficients c, so what travels (an update, a catch-up, the whole model) is at most K scalars;
// a client's update is the list of (seed index, accumulated scalar) pairs of its zeroth-order
// steps (train/zeroth_order.h). Torch-free.
//
// Determinism: z_j is made of chunks of kChunk coordinates, each drawn from its own xoshiro
// stream (seeded by pool seed, j and the chunk), turned into normals with IEEE +, -, *, / and
// sqrt only (polynomial log, sine and cosine, compiled without fused multiply-adds), so every
// party on every x86-64 machine draws the same bits; Materialize is a pure function of c (the
// same additions in the same order, whatever the thread count).
//
// Thread-safety: const methods may be called concurrently; Weights() serializes materialization.
#ifndef TRIBUTARY_MODEL_SEED_SUBSPACE_H_
#define TRIBUTARY_MODEL_SEED_SUBSPACE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tensor/model_state.h"

namespace tributary {

// Fills `out` with standard normals from the stream `seed` (Box-Muller on 24-bit uniforms).
void FillStandardNormal(uint64_t seed, std::span<float> out);

class SeedSubspace {
 public:
  static constexpr size_t kChunk = 8192;

  SeedSubspace(std::shared_ptr<const ModelState> base, int pool_size, uint64_t pool_seed);

  int pool_size() const { return pool_size_; }
  size_t dimension() const { return base_->flat().size(); }
  const ModelState& base() const { return *base_; }

  // z_j over the base's flat coordinates. Requires out.size() == dimension().
  void Direction(uint32_t j, std::span<float> out) const;

  // out = base + sum_j c_j z_j: per coordinate, c_j z_j added in ascending j over the nonzero
  // c_j. `threads` split the chunks; the result does not depend on it.
  void Materialize(std::span<const float> coefficients, std::span<float> out, int threads) const;

  // Materialize(c) with every hardware thread, cached: the clients of a round all start from the
  // same coefficients, so each process materializes them once.
  std::shared_ptr<const std::vector<float>> Weights(std::span<const float> coefficients) const;

 private:
  void MaterializeChunks(std::span<const float> coefficients, std::span<float> out, size_t first,
                         size_t last) const;
  uint64_t ChunkSeed(uint32_t j, size_t chunk) const;

  std::shared_ptr<const ModelState> base_;
  int pool_size_;
  uint64_t pool_seed_;
  mutable std::mutex cache_mutex_;
  mutable std::vector<float> cached_coefficients_;
  mutable std::shared_ptr<const std::vector<float>> cached_weights_;
};

// One subspace per (base checkpoint, pool size, pool seed) per process, shared by every model
// replica built over it (so is its cache); loads the base with LoadSharedBase.
absl::StatusOr<std::shared_ptr<const SeedSubspace>> LoadSharedSubspace(const std::string& base,
                                                                       int pool_size,
                                                                       uint64_t pool_seed);

}  // namespace tributary

#endif  // TRIBUTARY_MODEL_SEED_SUBSPACE_H_
