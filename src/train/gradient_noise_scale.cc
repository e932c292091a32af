#include "train/gradient_noise_scale.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "train/local_trainer.h"

namespace tributary {

NoiseScaleEstimate NoiseScaleFromNorms(int64_t population, int64_t small_batch,
                                       double small_norm_sq, int64_t big_batch,
                                       double big_norm_sq) {
  // The noise term of a batch of B: tr(Sigma) (n - B) / ((n - 1) B).
  auto noise_factor = [population](int64_t batch) {
    const double n = static_cast<double>(population);
    return population == 1 ? 0.0 : (n - batch) / ((n - 1.0) * batch);
  };
  NoiseScaleEstimate e{.small_batch = small_batch,
                       .big_batch = big_batch,
                       .small_norm_sq = small_norm_sq,
                       .big_norm_sq = big_norm_sq};
  e.noise_trace =
      (small_norm_sq - big_norm_sq) / (noise_factor(small_batch) - noise_factor(big_batch));
  e.gradient_norm_sq = small_norm_sq - e.noise_trace * noise_factor(small_batch);
  e.simple_noise_scale = e.noise_trace / e.gradient_norm_sq;
  return e;
}

absl::StatusOr<NoiseScaleEstimate> MeasureNoiseScale(
    const ModelSpec& spec, const ModelState& model, const TensorDataset& data,
    std::span<const uint32_t> examples, int64_t small_batch, int64_t big_batch, int draws,
    uint64_t seed, const std::function<void(const NoiseScaleEstimate&)>& progress) {
  const int64_t n = static_cast<int64_t>(examples.size());
  if (!(small_batch >= 1 && small_batch < big_batch && big_batch <= n)) {
    return absl::InvalidArgumentError(absl::StrCat("batch sizes must satisfy 1 <= small (",
                                                   small_batch, ") < big (", big_batch,
                                                   ") <= the examples (", n, ")"));
  }
  if (draws < 2) return absl::InvalidArgumentError("at least 2 draws");
  // One plain SGD step of learning rate 1 from `model`: its delta is the batch's negated mean
  // gradient.
  auto trainer_for = [&](int64_t batch) -> absl::StatusOr<std::unique_ptr<LocalTrainer>> {
    TrainOptions options{.optimizer = OptimizerKind::kSgd, .learning_rate = 1.0};
    options.momentum = 0.0;
    options.batch_size = static_cast<int>(batch);
    options.steps = 1;
    return LocalTrainer::Create(spec, options);
  };
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<LocalTrainer> small, trainer_for(small_batch));
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<LocalTrainer> big, trainer_for(big_batch));
  ModelState delta = model.ZerosLike();
  auto norm_sq = [&](LocalTrainer& trainer, uint64_t stream) -> absl::StatusOr<double> {
    TRIB_RETURN_IF_ERROR(trainer.Train(model, data, examples, stream, &delta).status());
    double sum = 0.0;
    for (float v : delta.flat()) sum += static_cast<double>(v) * v;
    return sum;
  };
  double small_sum = 0.0, big_sum = 0.0;
  NoiseScaleEstimate estimate;
  for (int draw = 0; draw < draws; ++draw) {
    TRIB_ASSIGN_OR_RETURN(double s,
                          norm_sq(*small, DeriveSeed(seed, draw, 0, RngPurpose::kLocalShuffle)));
    TRIB_ASSIGN_OR_RETURN(double b,
                          norm_sq(*big, DeriveSeed(seed, draw, 1, RngPurpose::kLocalShuffle)));
    small_sum += s;
    big_sum += b;
    estimate = NoiseScaleFromNorms(n, small_batch, small_sum / (draw + 1), big_batch,
                                   big_sum / (draw + 1));
    estimate.draws = draw + 1;
    if (progress) progress(estimate);
  }
  return estimate;
}

}  // namespace tributary
