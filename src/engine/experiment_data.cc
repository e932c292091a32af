#include "engine/experiment_data.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "engine/sotu_data.h"

namespace tributary {
namespace {

absl::StatusOr<LabeledImages> LoadSplit(const ExperimentConfig& config, DatasetSplit split,
                                        int64_t limit) {
  TRIB_ASSIGN_OR_RETURN(
      LabeledImages images,
      LoadFashionMnist(config.data_dir.empty() ? kDefaultFashionMnistDir : config.data_dir, split));
  if (limit > 0 && static_cast<size_t>(limit) < images.size()) {
    images.labels.resize(limit);
    images.pixels.resize(limit * images.rows * images.cols);
  }
  return images;
}

// Evaluation splits the data into this many chunks, whatever the number of workers.
constexpr int kEvalChunks = 8;

}  // namespace

absl::StatusOr<ExperimentData> LoadExperimentData(ExperimentConfig& config) {
  if (config.dataset == "sotu") return LoadSotuExperimentData(config);
  TRIB_ASSIGN_OR_RETURN(LabeledImages train_images,
                        LoadSplit(config, DatasetSplit::kTrain, config.max_train_examples));
  TRIB_ASSIGN_OR_RETURN(LabeledImages test_images,
                        LoadSplit(config, DatasetSplit::kTest, config.max_test_examples));
  ExperimentData data;
  TRIB_ASSIGN_OR_RETURN(data.partitions,
                        PartitionExamples(train_images.labels, train_images.num_classes,
                                          config.partition, config.seed));
  config.model.input_channels = 1;
  config.model.input_height = train_images.rows;
  config.model.input_width = train_images.cols;
  config.model.num_classes = train_images.num_classes;
  const TensorDataset::Normalization normalization =
      TensorDataset::ComputeNormalization(train_images);
  TRIB_ASSIGN_OR_RETURN(data.train, TensorDataset::FromImages(train_images, normalization));
  TRIB_ASSIGN_OR_RETURN(data.test, TensorDataset::FromImages(test_images, normalization));
  return data;
}

absl::StatusOr<ModelState> InitialGlobalModel(const ExperimentConfig& config) {
  TRIB_ASSIGN_OR_RETURN(ModelState fresh, InitialModelState(config.model, config.seed));
  if (config.model_init.empty()) return fresh;
  TRIB_ASSIGN_OR_RETURN(ModelState loaded, LoadModelState(config.model_init));
  if (loaded.specs() != fresh.specs()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model.init ", config.model_init, " does not have the configured model's tensors"));
  }
  return loaded;
}

void RecordEvaluation(const ExperimentConfig& config, const EvalResult& result,
                      RoundMetrics& metrics) {
  metrics.test_accuracy = result.accuracy();
  metrics.test_loss = result.mean_loss();
  if (config.dataset == "sotu") metrics.test_perplexity = std::exp(result.mean_loss());
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
