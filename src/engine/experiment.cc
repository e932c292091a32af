#include "engine/experiment.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "aggregate/strategy_registry.h"
#include "common/status_util.h"
#include "compress/pipeline.h"
#include "engine/dataset_registry.h"
#include "engine/techniques/differential_privacy.h"
#include "train/compute_threads.h"

namespace tributary {

absl::Status ExperimentConfig::Validate() const {
  if (name.empty()) return absl::InvalidArgumentError("run.name must not be empty");
  if (rounds < 1)
    return absl::InvalidArgumentError(absl::StrCat("run.rounds must be at least 1, got ", rounds));
  if (eval_every < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("run.eval_every must be at least 1, got ", eval_every));
  }
  TRIB_ASSIGN_OR_RETURN(const Dataset* data_source, FindDataset(dataset));
  TRIB_RETURN_IF_ERROR(data_source->Validate(*this));
  if (strategy.name == "lora_exact" && !(IsLora(model) && model.lora_train_a)) {
    return absl::InvalidArgumentError(
        "strategy.name = lora_exact needs LoRA adapters with A trained (model.lora_rank > 0, "
        "model.lora_train_a = true)");
  }
  if (text.min_year > text.max_year) {
    return absl::InvalidArgumentError("data.min_year must not be after data.max_year");
  }
  if (max_train_examples < 0 || max_test_examples < 0) {
    return absl::InvalidArgumentError(
        "data.max_train_examples and data.max_test_examples must be >= 0");
  }
  if (partition.num_clients < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("data.num_clients must be at least 1, got ", partition.num_clients));
  }
  if (clients_per_round < 1 || clients_per_round > partition.num_clients) {
    return absl::InvalidArgumentError(
        absl::StrCat("run.clients_per_round (K = ", clients_per_round,
                     ") must be between 1 and data.num_clients (N = ", partition.num_clients, ")"));
  }
  if (workers < 0 || workers > 1024 || threads_per_worker < 0 || threads_per_worker > 1024) {
    return absl::InvalidArgumentError(
        "compute.workers and compute.threads_per_worker must be in [0, 1024]");
  }
  TRIB_RETURN_IF_ERROR(ValidateModelSpec(model));
  TRIB_RETURN_IF_ERROR(train.Validate());
  for (const auto& [key, spec] : {std::pair{"compress.uplink", &uplink_codec},
                                  std::pair{"compress.downlink", &downlink_codec}}) {
    absl::Status codec = Pipeline::Parse(*spec).status();
    if (!codec.ok()) return absl::InvalidArgumentError(absl::StrCat(key, ": ", codec.message()));
  }
  if ((*Pipeline::Parse(uplink_codec))->sketch() != nullptr) {
    // The server averages the tables and keeps the error feedback itself (FetchSGD).
    if (strategy.name != "fedavg") {
      return absl::InvalidArgumentError(
          absl::StrCat("compress.uplink = sketch averages tables on the server; it works with "
                       "strategy.name = fedavg, not ",
                       strategy.name));
    }
    if (uplink_error_feedback) {
      return absl::InvalidArgumentError(
          "compress.error_feedback: a sketch uplink keeps its error feedback on the server; set "
          "it to false");
    }
  }
  if (!(client_holdout >= 0.0 && client_holdout <= 0.9)) {
    return absl::InvalidArgumentError("data.client_holdout must be in [0, 0.9]");
  }
  if (!local_layers.empty() && (strategy.name == "scaffold" || strategy.mask_aware ||
                                (*Pipeline::Parse(uplink_codec))->sketch() != nullptr)) {
    return absl::InvalidArgumentError(
        "strategy.local_layers does not combine with scaffold, mask_aware or a sketch uplink");
  }
  if (!(small_fraction >= 0.0 && small_fraction <= 1.0) ||
      !(small_width > 0.0 && small_width <= 1.0)) {
    return absl::InvalidArgumentError(
        "model.small_fraction must be in [0, 1] and model.small_width in (0, 1]");
  }
  if (small_fraction > 0.0) {
    static const std::set<std::string> kCoordinateWise = {"fedavg",     "fedprox",      "fedavgm",
                                                          "fedadagrad", "fedadam",      "fedyogi",
                                                          "diloco",     "norm_bounding"};
    if (!kCoordinateWise.count(strategy.name) || !local_layers.empty() ||
        (*Pipeline::Parse(uplink_codec))->sketch() != nullptr) {
      return absl::InvalidArgumentError(
          "model.small_fraction (HeteroFL) needs a FedAvg-family strategy (fedavg, fedprox, "
          "fedavgm, fedad*, fedyogi, diloco, norm_bounding), no local layers and no sketch");
    }
  }
  TRIB_RETURN_IF_ERROR(attack.Validate());
  TRIB_RETURN_IF_ERROR(system.Validate());
  if (downlink_history < 1) {
    return absl::InvalidArgumentError("compress.downlink_history must be at least 1");
  }
  TRIB_RETURN_IF_ERROR(ValidateDifferentialPrivacy(*this));
  return CreateStrategy(strategy).status();
}

ClientSampling ExperimentConfig::ResolvedSampling() const {
  if (sampling != ClientSampling::kAuto) return sampling;
  return privacy.enabled() ? ClientSampling::kPoisson : ClientSampling::kFixed;
}

double ExperimentConfig::SamplingRate() const {
  return static_cast<double>(clients_per_round) / partition.num_clients;
}

int ExperimentConfig::ResolvedWorkers() const { return workers > 0 ? workers : HardwareThreads(); }

// One intra-op thread per worker by default: on the small CNN, one client with 2 threads trained
// slower and less steadily (1550-2100 examples/s) than with 1 (1860-1940); see docs/performance.md.
int ExperimentConfig::ResolvedThreadsPerWorker() const {
  return threads_per_worker > 0 ? threads_per_worker : 1;
}

}  // namespace tributary
