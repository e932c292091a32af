// data.dataset = "fashion_mnist": the Debian package's 28x28 grey images in 10 classes
// (data/fashion_mnist.h), normalized with the training split's statistics, the training split
// partitioned by data.partition.
#ifndef TRIBUTARY_ENGINE_DATASETS_FASHION_MNIST_DATASET_H_
#define TRIBUTARY_ENGINE_DATASETS_FASHION_MNIST_DATASET_H_

#include "engine/dataset.h"

namespace tributary {

class FashionMnistDataset final : public Dataset {
 public:
  std::string_view name() const override { return "fashion_mnist"; }
  bool text() const override { return false; }
  absl::Status Validate(const ExperimentConfig& config) const override;
  absl::StatusOr<ExperimentData> Load(const ExperimentConfig& config) const override;
  // Streams the training images instead of holding them: a server keeps only their
  // normalization statistics, a client its own images.
  absl::StatusOr<ExperimentData> LoadFor(const ExperimentConfig& config,
                                         const DataScope& scope) const override;
};

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_DATASETS_FASHION_MNIST_DATASET_H_
