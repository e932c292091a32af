#include "engine/datasets/fashion_mnist_dataset.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "data/fashion_mnist.h"
#include "data/image_row_file.h"

namespace tributary {
namespace {

constexpr int kClasses = 10;

// The first `limit` examples of `count` (data.max_*_examples; 0: all).
size_t Limited(size_t count, int64_t limit) {
  return limit > 0 && static_cast<size_t>(limit) < count ? static_cast<size_t>(limit) : count;
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
  return LoadFor(config, DataScope{});
}

absl::StatusOr<ExperimentData> FashionMnistDataset::LoadFor(const ExperimentConfig& config,
                                                            const DataScope& scope) const {
  const std::string dir = config.data.dir.empty() ? kDefaultFashionMnistDir : config.data.dir;
  ExperimentData data;
  TRIB_ASSIGN_OR_RETURN(std::vector<uint8_t> train_labels,
                        LoadFashionMnistLabels(dir, DatasetSplit::kTrain));
  const size_t label_count = train_labels.size();
  const size_t train_count = Limited(label_count, config.data.max_train_examples);
  train_labels.resize(train_count);
  TRIB_ASSIGN_OR_RETURN(data.partitions, PartitionExamples(train_labels, kClasses,
                                                           config.data.partition, config.run.seed));

  // One pass over the training images: the normalization statistics over all of them, and the
  // images this party keeps (all, one client's in its partition's order, or none).
  const bool keep_all = scope.train && !scope.only_client;
  const ClientIndices* own = scope.only_client ? &data.partitions[*scope.only_client] : nullptr;
  std::vector<int32_t> position;  // example -> its place in `own`, or -1
  if (own != nullptr) {
    position.assign(train_count, -1);
    for (size_t p = 0; p < own->size(); ++p) position[(*own)[p]] = static_cast<int32_t>(p);
  }
  LabeledImages kept;
  kept.num_classes = kClasses;
  TensorDataset::PixelStatistics statistics;
  // A client whose images come from the verified decompressed copy reads them from that file
  // batch by batch (data/image_row_file.h) instead of holding them.
  bool own_on_disk = false;
  TRIB_ASSIGN_OR_RETURN(const ImageShape shape,
                        ForEachFashionMnistImage(
                            dir, DatasetSplit::kTrain, train_count,
                            [&](const ImageShape& opened) {
                              own_on_disk = own != nullptr && !opened.uncompressed_path.empty();
                              if (keep_all || (own != nullptr && !own_on_disk)) {
                                kept.pixels.resize((keep_all ? train_count : own->size()) *
                                                   static_cast<size_t>(opened.rows * opened.cols));
                              }
                            },
                            [&](size_t i, std::span<const uint8_t> pixels) {
                              statistics.Add(pixels);
                              size_t slot;
                              if (keep_all) {
                                slot = i;
                              } else if (own != nullptr && !own_on_disk && position[i] >= 0) {
                                slot = static_cast<size_t>(position[i]);
                              } else {
                                return;
                              }
                              std::copy(pixels.begin(), pixels.end(),
                                        kept.pixels.begin() + slot * pixels.size());
                            }));
  if (shape.count != label_count) {
    return absl::DataLossError(absl::StrCat("the Fashion-MNIST training split in ", dir, " has ",
                                            shape.count, " images for ", label_count, " labels"));
  }
  data.model = config.model;
  data.model.input_channels = 1;
  data.model.input_height = shape.rows;
  data.model.input_width = shape.cols;
  data.model.num_classes = kClasses;
  const TensorDataset::Normalization normalization = statistics.Result();
  kept.rows = shape.rows;
  kept.cols = shape.cols;
  if (keep_all) {
    kept.labels = std::move(train_labels);
  } else if (own != nullptr) {
    for (uint32_t i : *own) kept.labels.push_back(train_labels[i]);
  }
  if (own_on_disk && !kept.labels.empty()) {
    TRIB_ASSIGN_OR_RETURN(
        std::shared_ptr<const ImageRowFile> file,
        ImageRowFile::Open(shape.uncompressed_path, shape.first_image_offset,
                           static_cast<size_t>(shape.rows * shape.cols), shape.count,
                           std::vector<uint32_t>(own->begin(), own->end())));
    TRIB_ASSIGN_OR_RETURN(data.train,
                          TensorDataset::FromImageFile(std::move(file), shape.rows, shape.cols,
                                                       kept.labels, normalization));
  } else if (!kept.labels.empty()) {
    TRIB_ASSIGN_OR_RETURN(data.train, TensorDataset::FromImages(std::move(kept), normalization));
  }
  // The client's examples are now 0..n-1 of its own dataset (DataScope::only_client).
  if (own != nullptr) KeepOnlyPartition(data.partitions, *scope.only_client);
  if (scope.test) {
    TRIB_ASSIGN_OR_RETURN(LabeledImages test_images, LoadFashionMnist(dir, DatasetSplit::kTest));
    const size_t test_count = Limited(test_images.size(), config.data.max_test_examples);
    test_images.labels.resize(test_count);
    test_images.pixels.resize(test_count * test_images.rows * test_images.cols);
    TRIB_ASSIGN_OR_RETURN(data.test,
                          TensorDataset::FromImages(std::move(test_images), normalization));
  }
  return data;
}

}  // namespace tributary
