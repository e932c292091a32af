// The data of an experiment as every party loads it: the simulator, the deployed server (test
// set, and the training set's normalization) and each deployed client (its own partition).
#ifndef TRIBUTARY_ENGINE_EXPERIMENT_DATA_H_
#define TRIBUTARY_ENGINE_EXPERIMENT_DATA_H_

#include <memory>
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

// Loads the configured dataset (engine/dataset_registry.h): both splits, the training split
// partitioned, and the model as the data shapes it (ExperimentData::model, which the caller puts
// in the config it runs).
absl::StatusOr<ExperimentData> LoadExperimentData(const ExperimentConfig& config);

// Whether the config's dataset is text (perplexity and tokens are reported).
bool IsTextRun(const ExperimentConfig& config);

// The global model's starting point: model.init's checkpoint (checked against the configured
// model's layout) or a fresh initialization from the seed.
absl::StatusOr<ModelState> InitialGlobalModel(const ExperimentConfig& config);

// Records a test-set evaluation in `metrics`: accuracy, loss and, for text, perplexity.
void RecordEvaluation(const ExperimentConfig& config, const EvalResult& result,
                      RoundMetrics& metrics);

// The model on `data`, split into a fixed number of chunks merged in chunk order: the figures
// depend neither on scheduling nor on the number of workers. trainers[w] is worker w's.
absl::StatusOr<EvalResult> EvaluateInChunks(WorkerPool& pool,
                                            std::vector<std::unique_ptr<LocalTrainer>>& trainers,
                                            const ModelState& model, const TensorDataset& data);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_EXPERIMENT_DATA_H_
