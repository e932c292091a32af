#include "engine/datasets/fashion_mnist_dataset.h"

#include "common/status_util.h"
#include "data/fashion_mnist.h"

namespace tributary {
namespace {

absl::StatusOr<LabeledImages> LoadSplit(const ExperimentConfig& config, DatasetSplit split,
                                        int64_t limit) {
  TRIB_ASSIGN_OR_RETURN(
      LabeledImages images,
      LoadFashionMnist(config.data.dir.empty() ? kDefaultFashionMnistDir : config.data.dir, split));
  if (limit > 0 && static_cast<size_t>(limit) < images.size()) {
    images.labels.resize(limit);
    images.pixels.resize(limit * images.rows * images.cols);
  }
  return images;
}

}  // namespace

absl::Status FashionMnistDataset::Validate(const ExperimentConfig& config) const {
  if (config.model.name == "gpt") {
    return absl::InvalidArgumentError(
        "model.name = gpt needs a text dataset (data.dataset = sotu)");
  }
  return absl::OkStatus();
}

absl::StatusOr<ExperimentData> FashionMnistDataset::Load(const ExperimentConfig& config) const {
  TRIB_ASSIGN_OR_RETURN(LabeledImages train_images,
                        LoadSplit(config, DatasetSplit::kTrain, config.data.max_train_examples));
  TRIB_ASSIGN_OR_RETURN(LabeledImages test_images,
                        LoadSplit(config, DatasetSplit::kTest, config.data.max_test_examples));
  ExperimentData data;
  TRIB_ASSIGN_OR_RETURN(data.partitions,
                        PartitionExamples(train_images.labels, train_images.num_classes,
                                          config.data.partition, config.run.seed));
  data.model = config.model;
  data.model.input_channels = 1;
  data.model.input_height = train_images.rows;
  data.model.input_width = train_images.cols;
  data.model.num_classes = train_images.num_classes;
  const TensorDataset::Normalization normalization =
      TensorDataset::ComputeNormalization(train_images);
  TRIB_ASSIGN_OR_RETURN(data.train, TensorDataset::FromImages(train_images, normalization));
  TRIB_ASSIGN_OR_RETURN(data.test, TensorDataset::FromImages(test_images, normalization));
  return data;
}

}  // namespace tributary
