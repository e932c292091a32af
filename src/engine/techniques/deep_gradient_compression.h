// Deep Gradient Compression's training techniques (Lin et al. 2018) for a top-k uplink, each a
// `compress.dgc_*` option:
//  - local clipping (dgc_clip_norm): a client scales its update down to this L2 norm before it
//    enters the accumulation (the paper clips each node's gradient to the global threshold
//    times N^-1/2 for N nodes; here the per-client bound is given directly);
//  - momentum correction (dgc_momentum = m): the client accumulates a velocity
//    u = m u + update and feeds u, not the update, to error feedback (v += u; send top-k of v;
//    v -= sent), so the sparse updates add up to what momentum SGD would have applied;
//  - momentum factor masking (dgc_momentum_masking): the velocity is zeroed where the top-k
//    sent, so stale momentum does not push those coordinates again;
//  - sparsity warm-up (dgc_warmup_rounds = W, dgc_warmup_density = d0): round r <= W sends a
//    density d0 (target / d0)^((r - 1) / W), exponentially from d0 (0.25: the paper's 75%
//    sparsity) down to the configured top-k density, reached at round W + 1.
// DGC communicates after every SGD step; here a client's round (its whole local update) is the
// step: the velocity, like the residual, lives with the client across the rounds it takes part
// in. Momentum correction therefore moves momentum from the optimizer to the clients, as in
// the paper; with m the sent updates add up to about 1 / (1 - m) times the raw ones (lower the
// learning rate or strategy.server_lr to match).
#ifndef TRIBUTARY_ENGINE_TECHNIQUES_DEEP_GRADIENT_COMPRESSION_H_
#define TRIBUTARY_ENGINE_TECHNIQUES_DEEP_GRADIENT_COMPRESSION_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config_field.h"
#include "engine/experiment.h"
#include "engine/technique.h"

namespace tributary {

// compress.dgc_*, owned by this technique. All off by default.
struct DgcOptions {
  double momentum = 0.0;  // 0: no momentum correction
  bool momentum_masking = true;
  double clip_norm = 0.0;  // 0: no local clipping
  int warmup_rounds = 0;   // 0: no sparsity warm-up
  double warmup_density = 0.25;
  bool enabled() const { return momentum > 0.0 || clip_norm > 0.0 || warmup_rounds > 0; }
};
std::vector<ConfigField<ExperimentConfig>> DgcFields();
absl::Status ValidateDgc(const ExperimentConfig& config);

absl::StatusOr<std::unique_ptr<Technique>> CreateDgc(const ExperimentConfig& config,
                                                     const ModelState& global);

// The factor that turns the configured top-k density `target` into round `round`'s (1-based)
// warm-up density; 1 from round warmup_rounds + 1 on, and never below 1.
double DgcWarmupRatioScale(int round, int warmup_rounds, double initial_density, double target);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_TECHNIQUES_DEEP_GRADIENT_COMPRESSION_H_
