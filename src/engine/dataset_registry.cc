#include "engine/dataset_registry.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/datasets/fashion_mnist_dataset.h"
#include "engine/datasets/labeled_file_dataset.h"
#include "engine/datasets/sotu_dataset.h"
#include "engine/datasets/synthetic_images_dataset.h"
#include "engine/datasets/text_file_dataset.h"

namespace tributary {
namespace {

const std::vector<std::unique_ptr<Dataset>>& Registry() {
  static const auto* registry = [] {
    auto* datasets = new std::vector<std::unique_ptr<Dataset>>();
    datasets->push_back(std::make_unique<FashionMnistDataset>());
    datasets->push_back(std::make_unique<SotuDataset>());
    datasets->push_back(std::make_unique<LabeledFileDataset>("npz", ReadNpzSplits));
    datasets->push_back(std::make_unique<LabeledFileDataset>("csv", ReadCsvSplits));
    datasets->push_back(
        std::make_unique<LabeledFileDataset>("image_folder", ReadImageFolderSplits));
    datasets->push_back(std::make_unique<TextFileDataset>());
    datasets->push_back(std::make_unique<SyntheticImagesDataset>());
    return datasets;
  }();
  return *registry;
}

}  // namespace

absl::StatusOr<const Dataset*> FindDataset(const std::string& name) {
  for (const auto& dataset : Registry()) {
    if (dataset->name() == name) return dataset.get();
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown data.dataset '", name, "' (available: ",
                                                 absl::StrJoin(RegisteredDatasets(), ", "), ")"));
}

std::vector<std::string> RegisteredDatasets() {
  std::vector<std::string> names;
  for (const auto& dataset : Registry()) names.emplace_back(dataset->name());
  return names;
}

}  // namespace tributary
