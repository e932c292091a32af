// The gradient noise scale of McCandlish et al. 2018 ("An Empirical Model of Large-Batch
// Training"): B_simple = tr(Sigma) / |G|^2, the batch size beyond which a larger batch stops
// buying proportionally fewer steps (the critical batch size is about B_simple). Estimated, as
// in the paper's appendix A.1, from the squared norms of mini-batch gradients at two sizes:
// E |G_B|^2 = |G|^2 + tr(Sigma) / B. Our batches are drawn without replacement from n examples,
// which scales the noise term by (n - B) / (n - 1); the estimate corrects for it.
#ifndef TRIBUTARY_TRAIN_GRADIENT_NOISE_SCALE_H_
#define TRIBUTARY_TRAIN_GRADIENT_NOISE_SCALE_H_

#include <cstdint>
#include <functional>
#include <span>

#include "absl/status/statusor.h"
#include "model/model_spec.h"
#include "tensor/model_state.h"
#include "train/tensor_dataset.h"

namespace tributary {

struct NoiseScaleEstimate {
  int64_t small_batch = 0, big_batch = 0, draws = 0;
  double small_norm_sq = 0.0, big_norm_sq = 0.0;  // mean |G_B|^2 over the draws
  double gradient_norm_sq = 0.0;                  // |G|^2
  double noise_trace = 0.0;                       // tr(Sigma), per example
  double simple_noise_scale = 0.0;                // tr(Sigma) / |G|^2, in examples
};

// |G|^2, tr(Sigma) and B_simple from mean squared norms at two batch sizes drawn without
// replacement from `population` examples. Requires 1 <= small < big <= population.
NoiseScaleEstimate NoiseScaleFromNorms(int64_t population, int64_t small_batch,
                                       double small_norm_sq, int64_t big_batch, double big_norm_sq);

// Measures them for `model` (the loss of the model `spec` builds) on examples `examples` of
// `data`: `draws` gradients at each size, each on a batch drawn from its own stream of `seed`.
// `progress` (optional) hears after each draw.
absl::StatusOr<NoiseScaleEstimate> MeasureNoiseScale(
    const ModelSpec& spec, const ModelState& model, const TensorDataset& data,
    std::span<const uint32_t> examples, int64_t small_batch, int64_t big_batch, int draws,
    uint64_t seed, const std::function<void(const NoiseScaleEstimate&)>& progress = nullptr);

}  // namespace tributary

#endif  // TRIBUTARY_TRAIN_GRADIENT_NOISE_SCALE_H_
