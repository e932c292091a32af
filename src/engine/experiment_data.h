// The data of an experiment as every party loads it: the simulator, the deployed server (test
// set) and each deployed client (its own partition).
#ifndef TRIBUTARY_ENGINE_EXPERIMENT_DATA_H_
#define TRIBUTARY_ENGINE_EXPERIMENT_DATA_H_

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "data/partition.h"
#include "engine/experiment.h"
#include "engine/worker_pool.h"
#include "report/round_metrics.h"
#include "train/local_trainer.h"
#include "train/tensor_dataset.h"

namespace tributary {

struct ExperimentData {
  std::shared_ptr<const TensorDataset> train;
  std::shared_ptr<const TensorDataset> test;
  std::vector<ClientIndices> partitions;  // one per client, from config.partition and the seed
  ModelSpec model;  // the config's model with the data's input shape and class count
};

// Which of an experiment's data a party needs: the simulator all of it, a deployed server the
// test split (no training examples), a deployed client only its own training examples.
struct DataScope {
  bool test = true;   // the test split
  bool train = true;  // the training split's examples (partitions and the model shape come anyway)
  // Only this client's training examples: `train` holds them in its partition's order,
  // `partitions[client]` is then 0..n-1 into it, and every other partition is empty.
  std::optional<uint32_t> only_client;

  static DataScope Server() { return {.train = false}; }
  static DataScope Client(uint32_t client) { return {.test = false, .only_client = client}; }
};

// Loads the configured dataset (engine/dataset_registry.h): the splits `scope` asks for, the
// training split partitioned, and the model as the data shapes it (ExperimentData::model, which
// the caller puts in the config it runs).
absl::StatusOr<ExperimentData> LoadExperimentData(const ExperimentConfig& config,
                                                  const DataScope& scope = {});

// Drops from fully loaded `data` what `scope` does not ask for.
absl::StatusOr<ExperimentData> NarrowToScope(ExperimentData data, const DataScope& scope);

// Whether the config's dataset is text (perplexity and tokens are reported).
bool IsTextRun(const ExperimentConfig& config);

// The global model's starting point: model.init's checkpoint (checked against the configured
// model's layout) or a fresh initialization from the seed; with a `grid` downlink codec, snapped
// to its grid (the public model stays on it).
absl::StatusOr<ModelState> InitialGlobalModel(const ExperimentConfig& config);

// A test-set evaluation's figures: accuracy, loss and, for text, perplexity.
TestEvaluation ToTestEvaluation(const ExperimentConfig& config, const EvalResult& result,
                                double seconds);

// The model on `data`, split into a fixed number of chunks merged in chunk order: the figures
// depend neither on scheduling nor on the number of workers. trainers[w] is worker w's.
absl::StatusOr<EvalResult> EvaluateInChunks(WorkerPool& pool,
                                            std::vector<std::unique_ptr<LocalTrainer>>& trainers,
                                            const ModelState& model, const TensorDataset& data);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_EXPERIMENT_DATA_H_
