// data.dataset = "synthetic_images": generated grey 28x28 images in 10 classes, as many as
// data.max_train_examples asks (0: 60,000; Fashion-MNIST's shape and size), for populations
// larger than any file at hand (docs/scale.md: 100,000 clients). Each class is a fixed pattern of
// a few bright blobs; an example is its class's pattern, shifted by up to 3 pixels each way, with
// pixel noise. Every example is a function of its split and index alone (not of the run seed),
// so runs with different seeds train on the same data, as with a real dataset.
#ifndef TRIBUTARY_ENGINE_DATASETS_SYNTHETIC_IMAGES_DATASET_H_
#define TRIBUTARY_ENGINE_DATASETS_SYNTHETIC_IMAGES_DATASET_H_

#include "data/fashion_mnist.h"
#include "engine/dataset.h"

namespace tributary {

class SyntheticImagesDataset final : public Dataset {
 public:
  static constexpr int64_t kDefaultTrainExamples = 60000;
  static constexpr int64_t kDefaultTestExamples = 10000;
  static constexpr int64_t kMaxExamples = 10000000;  // 7.8 GB of pixels

  std::string_view name() const override { return "synthetic_images"; }
  bool text() const override { return false; }
  absl::Status Validate(const ExperimentConfig& config) const override;
  absl::StatusOr<ExperimentData> Load(const ExperimentConfig& config) const override;
};

// `count` examples of the split (labels uniform over the classes), the same on every machine.
LabeledImages GenerateSyntheticImages(DatasetSplit split, size_t count);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_DATASETS_SYNTHETIC_IMAGES_DATASET_H_
