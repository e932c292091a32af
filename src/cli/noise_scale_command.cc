// tributary noise-scale: the gradient noise scale (train/gradient_noise_scale.h) of a config's
// model on its training data, to pick per-worker batch sizes at or above the critical batch.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/config_loader.h"
#include "cli/exit_code.h"
#include "common/status_util.h"
#include "engine/experiment_data.h"
#include "train/gradient_noise_scale.h"

namespace tributary {
namespace {

absl::Status Measure(const NoiseScaleCommandOptions& o) {
  TRIB_ASSIGN_OR_RETURN(LoadedConfig loaded, LoadExperimentConfig(o.config_path, o.overrides));
  ExperimentConfig config = loaded.config;
  TRIB_RETURN_IF_ERROR(config.Validate());
  if (IsSeedSubspace(config.model)) {
    return absl::InvalidArgumentError("a model.seed_pool model has no gradient to measure");
  }
  TRIB_ASSIGN_OR_RETURN(ExperimentData data, LoadExperimentData(config, {.test = false}));
  config.model = data.model;
  TRIB_ASSIGN_OR_RETURN(ModelState model, InitialGlobalModel(config));
  // Every client's examples together: the distribution a data-parallel global batch samples.
  std::vector<uint32_t> examples;
  for (const ClientIndices& client : data.partitions) {
    examples.insert(examples.end(), client.begin(), client.end());
  }
  const int64_t small = o.small_batch > 0 ? o.small_batch : config.train.batch_size;
  const int64_t big = o.big_batch > 0 ? o.big_batch : 16 * small;
  std::printf(
      "model: %zu trained values (%s); %zu training examples; batches of %lld and %lld, "
      "%d draws each\n",
      model.flat().size(),
      config.model.init.empty() ? "seeded initialization" : config.model.init.c_str(),
      examples.size(), static_cast<long long>(small), static_cast<long long>(big), o.draws);
  auto report = [&](const NoiseScaleEstimate& e) {
    std::printf(
        "draw %3lld  mean |G_%lld|^2 %.6g  mean |G_%lld|^2 %.6g  |G|^2 %.6g  tr(Sigma) %.6g  "
        "B_simple %.1f\n",
        static_cast<long long>(e.draws), static_cast<long long>(e.small_batch), e.small_norm_sq,
        static_cast<long long>(e.big_batch), e.big_norm_sq, e.gradient_norm_sq, e.noise_trace,
        e.simple_noise_scale);
    std::fflush(stdout);
  };
  TRIB_ASSIGN_OR_RETURN(NoiseScaleEstimate estimate,
                        MeasureNoiseScale(config.model, model, *data.train, examples, small, big,
                                          o.draws, o.seed, report));
  if (!(estimate.gradient_norm_sq > 0.0)) {
    std::printf(
        "|G|^2 came out %.3g: the noise swamps the gradient at these sizes; take more "
        "draws or a bigger --big\n",
        estimate.gradient_norm_sq);
    return absl::OkStatus();
  }
  std::printf("B_simple = tr(Sigma) / |G|^2 = %.1f examples", estimate.simple_noise_scale);
  if (IsTextRun(config)) {
    std::printf(" (%.0f tokens)", estimate.simple_noise_scale * config.model.context);
  }
  std::printf("\n");
  return absl::OkStatus();
}

}  // namespace

int RunNoiseScaleCommand(const NoiseScaleCommandOptions& options) {
  absl::Status status = Measure(options);
  return status.ok() ? 0 : Fail(status);
}

}  // namespace tributary
