#include "engine/experiment_data.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "compress/grid_codec.h"
#include "compress/pipeline.h"
#include "engine/dataset_registry.h"

namespace tributary {
namespace {

// Evaluation splits the data into this many chunks, whatever the number of workers.
constexpr int kEvalChunks = 8;

}  // namespace

absl::StatusOr<ExperimentData> LoadExperimentData(const ExperimentConfig& config,
                                                  const DataScope& scope) {
  TRIB_ASSIGN_OR_RETURN(const Dataset* dataset, FindDataset(config.data.dataset));
  if (scope.only_client &&
      *scope.only_client >= static_cast<uint32_t>(config.data.partition.num_clients)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "client ", *scope.only_client, " >= data.num_clients ", config.data.partition.num_clients));
  }
  TRIB_ASSIGN_OR_RETURN(ExperimentData data, dataset->LoadFor(config, scope));
  // A built-in model is shaped by the data; a loaded one must be checked against it.
  if (data.model.name == "torchscript") {
    const TensorDataset* sample = data.train != nullptr ? data.train.get() : data.test.get();
    if (sample != nullptr) TRIB_RETURN_IF_ERROR(CheckModelFitsData(data.model, *sample));
  }
  return data;
}

absl::StatusOr<ExperimentData> NarrowToScope(ExperimentData data, const DataScope& scope) {
  if (!scope.test) data.test.reset();
  if (scope.only_client) {
    ClientIndices& own = data.partitions[*scope.only_client];
    if (own.empty()) {
      data.train.reset();
    } else {
      TRIB_ASSIGN_OR_RETURN(data.train, data.train->Subset(own));
    }
    KeepOnlyPartition(data.partitions, *scope.only_client);
  } else if (!scope.train) {
    data.train.reset();
  }
  return data;
}

bool IsTextRun(const ExperimentConfig& config) {
  absl::StatusOr<const Dataset*> dataset = FindDataset(config.data.dataset);
  return dataset.ok() && (*dataset)->text();
}

namespace {

// A grid downlink keeps the public model on its grid, so the run starts there (see GridCodec).
absl::Status SnapToDownlinkGrid(const ExperimentConfig& config, ModelState& model) {
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Pipeline> downlink,
                        Pipeline::Parse(config.compress.downlink));
  const std::optional<int> exp = downlink->grid_exponent();
  if (!exp) return absl::OkStatus();
  const double limit = std::ldexp(static_cast<double>(GridCodec::kMaxSteps), -*exp);
  for (float& v : model.flat()) {
    if (!(std::fabs(v) < limit)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the initial model has a value ", v, " beyond the downlink grid's range (+-",
                       limit, " for grid:exp=", *exp, "); use a smaller exp"));
    }
    v = SnapToGrid(v, *exp);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ModelState> InitialGlobalModel(const ExperimentConfig& config) {
  TRIB_ASSIGN_OR_RETURN(ModelState model, InitialModelState(config.model, config.run.seed));
  if (!config.model.init.empty()) {
    TRIB_ASSIGN_OR_RETURN(ModelState loaded, LoadModelState(config.model.init));
    if (loaded.specs() != model.specs()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model.init ", config.model.init, " does not have the configured model's tensors"));
    }
    model = std::move(loaded);
  }
  TRIB_RETURN_IF_ERROR(SnapToDownlinkGrid(config, model));
  return model;
}

TestEvaluation ToTestEvaluation(const ExperimentConfig& config, const EvalResult& result,
                                double seconds) {
  TestEvaluation evaluation{
      .accuracy = result.accuracy(), .loss = result.mean_loss(), .seconds = seconds};
  if (IsTextRun(config)) evaluation.perplexity = std::exp(result.mean_loss());
  return evaluation;
}

absl::StatusOr<EvalResult> EvaluateInChunks(WorkerPool& pool,
                                            std::vector<std::unique_ptr<LocalTrainer>>& trainers,
                                            const ModelState& model, const TensorDataset& data) {
  const size_t n = data.size();
  std::vector<absl::StatusOr<EvalResult>> parts(kEvalChunks, EvalResult{});
  for (int c = 0; c < kEvalChunks; ++c) {
    pool.Submit([&, c](int worker) {
      parts[c] =
          trainers[worker]->Evaluate(model, data, n * c / kEvalChunks, n * (c + 1) / kEvalChunks);
    });
  }
  pool.Wait();
  EvalResult total;
  for (const auto& part : parts) {
    TRIB_RETURN_IF_ERROR(part.status());
    total.Merge(*part);
  }
  return total;
}

}  // namespace tributary
