#include "engine/experiment.h"

#include "absl/strings/str_cat.h"
#include "aggregate/strategy_registry.h"
#include "common/status_util.h"
#include "compress/pipeline.h"
#include "engine/dataset_registry.h"
#include "engine/technique_registry.h"
#include "train/compute_threads.h"

namespace tributary {

absl::Status ExperimentConfig::Validate() const {
  if (run.name.empty()) return absl::InvalidArgumentError("run.name must not be empty");
  if (run.rounds < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("run.rounds must be at least 1, got ", run.rounds));
  }
  if (run.eval_every < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("run.eval_every must be at least 1, got ", run.eval_every));
  }
  TRIB_ASSIGN_OR_RETURN(const Dataset* data_source, FindDataset(data.dataset));
  TRIB_RETURN_IF_ERROR(data_source->Validate(*this));
  if (strategy.name == "lora_exact" && !(IsLora(model) && model.lora_train_a)) {
    return absl::InvalidArgumentError(
        "strategy.name = lora_exact needs LoRA adapters with A trained (model.lora_rank > 0, "
        "model.lora_train_a = true)");
  }
  if (strategy.name == "lora_exact" && train.keep_optimizer_state) {
    return absl::InvalidArgumentError(
        "strategy.name = lora_exact re-factorizes every adapter by an SVD each round, which "
        "rotates, flips and rescales the coordinates of A and B; kept AdamW moments (per "
        "coordinate, so they cannot be rotated with them) would act on the wrong coordinates. "
        "Set train.keep_optimizer_state = false: the moments restart each round");
  }
  if (IsSeedSubspace(model) != (train.optimizer == OptimizerKind::kZerothOrder)) {
    return absl::InvalidArgumentError(
        "model.seed_pool and train.optimizer = zo_sgd go together: a seeded-subspace model has "
        "no gradient to its coefficients, and zeroth-order steps move along the pool's seeds");
  }
  if (data.text.min_year > data.text.max_year) {
    return absl::InvalidArgumentError("data.min_year must not be after data.max_year");
  }
  if (data.max_train_examples < 0 || data.max_test_examples < 0) {
    return absl::InvalidArgumentError(
        "data.max_train_examples and data.max_test_examples must be >= 0");
  }
  const int num_clients = data.partition.num_clients;
  if (num_clients < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("data.num_clients must be at least 1, got ", num_clients));
  }
  if (run.clients_per_round < 1 || run.clients_per_round > num_clients) {
    return absl::InvalidArgumentError(
        absl::StrCat("run.clients_per_round (K = ", run.clients_per_round,
                     ") must be between 1 and data.num_clients (N = ", num_clients, ")"));
  }
  if (compute.workers < 0 || compute.workers > 1024 || compute.threads_per_worker < 0 ||
      compute.threads_per_worker > 1024) {
    return absl::InvalidArgumentError(
        "compute.workers and compute.threads_per_worker must be in [0, 1024]");
  }
  TRIB_RETURN_IF_ERROR(ValidateModelSpec(model));
  TRIB_RETURN_IF_ERROR(train.Validate());
  for (const auto& [key, spec] : {std::pair{"compress.uplink", &compress.uplink},
                                  std::pair{"compress.downlink", &compress.downlink}}) {
    absl::Status codec = Pipeline::Parse(*spec).status();
    if (!codec.ok()) return absl::InvalidArgumentError(absl::StrCat(key, ": ", codec.message()));
  }
  if ((*Pipeline::Parse(compress.uplink))->sketch() != nullptr) {
    // The server averages the tables and keeps the error feedback itself (FetchSGD).
    if (strategy.name != "fedavg") {
      return absl::InvalidArgumentError(
          absl::StrCat("compress.uplink = sketch averages tables on the server; it works with "
                       "strategy.name = fedavg, not ",
                       strategy.name));
    }
    if (compress.error_feedback) {
      return absl::InvalidArgumentError(
          "compress.error_feedback: a sketch uplink keeps its error feedback on the server; set "
          "it to false");
    }
  }
  if (!(data.client_holdout >= 0.0 && data.client_holdout <= 0.9)) {
    return absl::InvalidArgumentError("data.client_holdout must be in [0, 0.9]");
  }
  TRIB_RETURN_IF_ERROR(system.Validate());
  if (compress.downlink_history < 1) {
    return absl::InvalidArgumentError("compress.downlink_history must be at least 1");
  }
  TRIB_RETURN_IF_ERROR(CreateStrategy(strategy).status());
  return ValidateTechniques(*this);
}

ClientSampling ExperimentConfig::ResolvedSampling() const {
  if (run.sampling != ClientSampling::kAuto) return run.sampling;
  return TechniqueSampling(*this).value_or(ClientSampling::kFixed);
}

double ExperimentConfig::SamplingRate() const {
  return static_cast<double>(run.clients_per_round) / data.partition.num_clients;
}

int ExperimentConfig::ResolvedWorkers() const {
  return compute.workers > 0 ? compute.workers : HardwareThreads();
}

// One intra-op thread per worker by default: on the small CNN, one client with 2 threads trained
// slower and less steadily (1550-2100 examples/s) than with 1 (1860-1940); see docs/performance.md.
int ExperimentConfig::ResolvedThreadsPerWorker() const {
  return compute.threads_per_worker > 0 ? compute.threads_per_worker : 1;
}

}  // namespace tributary
