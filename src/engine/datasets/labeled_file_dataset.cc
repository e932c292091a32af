#include "engine/datasets/labeled_file_dataset.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "data/csv_table.h"
#include "data/image_folder.h"
#include "data/npz_file.h"

namespace tributary {
namespace {

// x, y and the owner array (if any) of one npz split.
absl::StatusOr<LabeledArrays> ReadNpzArrays(const NpzFile& npz, const std::string& path,
                                            const std::string& x_name, const std::string& y_name,
                                            const std::string& client_name) {
  TRIB_ASSIGN_OR_RETURN(NpyHeader x_header, npz.Header(x_name));
  if (x_header.shape.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", x_name,
                                                   " must be [examples, features...], got ",
                                                   x_header.shape.size(), " dimension(s)"));
  }
  LabeledArrays arrays;
  arrays.example_shape.assign(x_header.shape.begin() + 1, x_header.shape.end());
  TRIB_ASSIGN_OR_RETURN(arrays.features, npz.ReadFloats(x_name));
  TRIB_ASSIGN_OR_RETURN(arrays.labels, npz.ReadIntegers(y_name));
  if (!client_name.empty()) {
    TRIB_ASSIGN_OR_RETURN(arrays.clients, npz.ReadIntegers(client_name));
  }
  const size_t n = static_cast<size_t>(x_header.shape[0]);
  if (arrays.labels.size() != n || (!arrays.clients.empty() && arrays.clients.size() != n)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": ", x_name, " has ", n, " examples but ", y_name, " has ", arrays.labels.size(),
        client_name.empty() ? "" : absl::StrCat(" and ", client_name, " ", arrays.clients.size())));
  }
  return arrays;
}

// Splits off a seeded `fraction` of the examples (at least one) as the test split.
absl::StatusOr<LabeledSplits> HoldOutTest(LabeledArrays all, double fraction, uint64_t seed) {
  const size_t n = all.size();
  const size_t test = std::max<size_t>(1, static_cast<size_t>(std::llround(n * fraction)));
  if (test >= n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "holding out ", test, " of ", n, " examples for testing leaves none to train on"));
  }
  std::vector<uint32_t> order(n);
  for (uint32_t i = 0; i < n; ++i) order[i] = i;
  Rng rng = MakeRng(seed, 0, 0, RngPurpose::kTestSplit);
  Shuffle(order.data(), n, rng);
  std::vector<bool> is_test(n, false);
  for (size_t i = 0; i < test; ++i) is_test[order[i]] = true;
  // The training examples are compacted in place (the buffer keeps its capacity rather than
  // reallocating), so the split costs one copy of the test examples, not of everything.
  const size_t width = static_cast<size_t>(all.example_size());
  LabeledSplits splits;
  splits.test.emplace();
  LabeledArrays& held = *splits.test;
  held.example_shape = all.example_shape;
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    auto example = all.features.begin() + i * width;
    if (is_test[i]) {
      held.features.insert(held.features.end(), example, example + width);
      held.labels.push_back(all.labels[i]);
      continue;
    }
    std::copy(example, example + width, all.features.begin() + kept * width);
    all.labels[kept] = all.labels[i];
    if (!all.clients.empty()) all.clients[kept] = all.clients[i];
    ++kept;
  }
  all.features.resize(kept * width);
  all.labels.resize(kept);
  if (!all.clients.empty()) all.clients.resize(kept);
  splits.train = std::move(all);
  return splits;
}

void KeepFirst(LabeledArrays& arrays, int64_t limit) {
  if (limit <= 0 || static_cast<size_t>(limit) >= arrays.size()) return;
  arrays.labels.resize(limit);
  arrays.features.resize(limit * arrays.example_size());
  if (!arrays.clients.empty()) arrays.clients.resize(limit);
}

absl::Status CheckSplit(const LabeledArrays& arrays, const char* split) {
  if (arrays.size() == 0)
    return absl::InvalidArgumentError(absl::StrCat("the ", split, " split is empty"));
  if (arrays.example_size() < 1) {
    return absl::InvalidArgumentError(absl::StrCat("the ", split, " examples have no features"));
  }
  for (size_t i = 0; i < arrays.features.size(); ++i) {
    if (!std::isfinite(arrays.features[i])) {
      return absl::InvalidArgumentError(absl::StrCat("the ", split, " split's example ",
                                                     i / arrays.example_size(),
                                                     " has a value that is not finite"));
    }
  }
  for (size_t i = 0; i < arrays.size(); ++i) {
    if (arrays.labels[i] < 0 || arrays.labels[i] >= (1 << 24)) {
      return absl::InvalidArgumentError(absl::StrCat("the ", split, " split's label ",
                                                     arrays.labels[i], " (example ", i,
                                                     ") is outside [0, 2^24)"));
    }
  }
  return absl::OkStatus();
}

// Per-feature mean and standard deviation of the training split, applied to both splits.
void Standardize(LabeledArrays& train, LabeledArrays& test) {
  const size_t width = train.example_size(), n = train.size();
  std::vector<double> sum(width, 0.0), sum_squares(width, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t f = 0; f < width; ++f) {
      const double v = train.features[i * width + f];
      sum[f] += v;
      sum_squares[f] += v * v;
    }
  }
  std::vector<float> mean(width), scale(width);
  for (size_t f = 0; f < width; ++f) {
    const double m = sum[f] / n;
    const double sd = std::sqrt(std::max(0.0, sum_squares[f] / n - m * m));
    mean[f] = static_cast<float>(m);
    scale[f] = sd > 1e-8 ? static_cast<float>(1.0 / sd) : 1.0f;  // a constant feature stays 0
  }
  for (LabeledArrays* part : {&train, &test}) {
    for (size_t i = 0; i < part->features.size(); ++i) {
      const size_t f = i % width;
      part->features[i] = (part->features[i] - mean[f]) * scale[f];
    }
  }
}

// The tensor shape of one example: [F], [1, H, W] or [C, H, W] (others as given).
std::vector<int64_t> TensorShape(const std::vector<int64_t>& example_shape) {
  if (example_shape.size() == 2) return {1, example_shape[0], example_shape[1]};
  return example_shape;
}

absl::StatusOr<std::vector<ClientIndices>> Partition(const ExperimentConfig& config,
                                                     const LabeledArrays& train, int num_classes) {
  const PartitionOptions& options = config.data.partition;
  if (options.scheme == PartitionScheme::kNatural) {
    if (train.clients.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("partition = natural needs an owner for each example: a '",
                       config.data.files.client_column, "' column (data.client_column)"));
    }
    std::map<int64_t, uint32_t> dense;  // owners in ascending id order
    for (int64_t c : train.clients) dense.emplace(c, 0);
    uint32_t next = 0;
    for (auto& [id, index] : dense) index = next++;
    std::vector<uint32_t> owners;
    owners.reserve(train.size());
    for (int64_t c : train.clients) owners.push_back(dense[c]);
    return PartitionByOwner(owners, static_cast<int>(dense.size()), options.num_clients);
  }
  if (options.scheme == PartitionScheme::kIid) {
    return PartitionExamples(std::vector<uint8_t>(train.size(), 0), 1, options, config.run.seed);
  }
  if (num_classes > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("partition = ", PartitionSchemeName(options.scheme),
                     " supports up to 256 classes, the data has ", num_classes));
  }
  std::vector<uint8_t> labels(train.labels.begin(), train.labels.end());
  return PartitionExamples(labels, num_classes, options, config.run.seed);
}

}  // namespace

absl::StatusOr<LabeledSplits> ReadNpzSplits(const FileDataOptions& files) {
  TRIB_ASSIGN_OR_RETURN(NpzFile npz, NpzFile::Open(files.path));
  std::string client;
  for (const std::string& name : {files.client_column, std::string("group")}) {
    if (!name.empty() && npz.has(name)) {
      client = name;
      break;
    }
  }
  if (!npz.has("x") || !npz.has("y")) {
    return absl::InvalidArgumentError(
        absl::StrCat(files.path, " needs arrays x and y (numpy.savez(path, x=..., y=...)); it has ",
                     absl::StrJoin(npz.names(), ", ")));
  }
  LabeledSplits splits;
  TRIB_ASSIGN_OR_RETURN(splits.train, ReadNpzArrays(npz, files.path, "x", "y", client));
  if (npz.has("x_test") && npz.has("y_test")) {
    TRIB_ASSIGN_OR_RETURN(splits.test, ReadNpzArrays(npz, files.path, "x_test", "y_test", ""));
  } else if (!files.test_path.empty()) {
    TRIB_ASSIGN_OR_RETURN(NpzFile test, NpzFile::Open(files.test_path));
    TRIB_ASSIGN_OR_RETURN(splits.test, ReadNpzArrays(test, files.test_path, "x", "y", ""));
  }
  return splits;
}

absl::StatusOr<LabeledSplits> ReadCsvSplits(const FileDataOptions& files) {
  LabeledSplits splits;
  TRIB_ASSIGN_OR_RETURN(splits.train,
                        ReadLabeledCsv(files.path, files.label_column, files.client_column));
  if (!files.test_path.empty()) {
    TRIB_ASSIGN_OR_RETURN(splits.test,
                          ReadLabeledCsv(files.test_path, files.label_column, files.client_column));
    splits.test->clients.clear();
  }
  return splits;
}

absl::StatusOr<LabeledSplits> ReadImageFolderSplits(const FileDataOptions& files) {
  LabeledSplits splits;
  std::vector<std::string> classes;
  int channels = 0;
  TRIB_ASSIGN_OR_RETURN(splits.train, ReadImageFolder(files.path, &classes, &channels));
  if (!files.test_path.empty()) {
    TRIB_ASSIGN_OR_RETURN(splits.test, ReadImageFolder(files.test_path, &classes, &channels));
  }
  LogInfo("image_folder: classes %s", absl::StrJoin(classes, ", ").c_str());
  return splits;
}

absl::Status ValidateDataFiles(const FileDataOptions& files, std::string_view dataset,
                               std::string_view what) {
  if (files.path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("data.dataset = ", std::string(dataset),
                                                   " needs data.path (", std::string(what), ")"));
  }
  if (files.test_path.empty() && !(files.test_fraction > 0.0 && files.test_fraction < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("data.test_fraction must be in (0, 1) when there is no data.test_path, got ",
                     files.test_fraction));
  }
  return absl::OkStatus();
}

absl::Status LabeledFileDataset::Validate(const ExperimentConfig& config) const {
  TRIB_RETURN_IF_ERROR(ValidateDataFiles(config.data.files, name_, "the training data"));
  if (config.model.name == "gpt") {
    return absl::InvalidArgumentError(
        absl::StrCat("model.name = gpt needs text (data.dataset = text or sotu), not ", name_));
  }
  return absl::OkStatus();
}

absl::StatusOr<ExperimentData> LabeledFileDataset::Load(const ExperimentConfig& config) const {
  const FileDataOptions& files = config.data.files;
  TRIB_ASSIGN_OR_RETURN(LabeledSplits splits, reader_(files));
  if (!splits.test.has_value()) {
    TRIB_RETURN_IF_ERROR(CheckSplit(splits.train, "training"));
    TRIB_ASSIGN_OR_RETURN(
        splits, HoldOutTest(std::move(splits.train), files.test_fraction, config.run.seed));
  }
  LabeledArrays& train = splits.train;
  LabeledArrays& test = *splits.test;
  KeepFirst(train, config.data.max_train_examples);
  KeepFirst(test, config.data.max_test_examples);
  TRIB_RETURN_IF_ERROR(CheckSplit(train, "training"));
  TRIB_RETURN_IF_ERROR(CheckSplit(test, "test"));
  if (test.example_shape != train.example_shape) {
    return absl::InvalidArgumentError(
        absl::StrCat("test examples have shape (", absl::StrJoin(test.example_shape, ", "),
                     "), training examples (", absl::StrJoin(train.example_shape, ", "), ")"));
  }
  int64_t max_label = 0;
  for (int64_t y : train.labels) max_label = std::max(max_label, y);
  for (int64_t y : test.labels) max_label = std::max(max_label, y);
  const int num_classes = static_cast<int>(std::max<int64_t>(2, max_label + 1));
  ExperimentData data;
  TRIB_ASSIGN_OR_RETURN(data.partitions, Partition(config, train, num_classes));
  if (files.standardize) Standardize(train, test);
  LogInfo("%s: %zu training and %zu test examples of shape (%s), %d classes", name_.c_str(),
          train.size(), test.size(), absl::StrJoin(train.example_shape, ", ").c_str(), num_classes);
  const std::vector<int64_t> shape = TensorShape(train.example_shape);
  data.model = config.model;
  data.model.num_classes = num_classes;
  if (shape.size() == 3) {
    data.model.input_channels = shape[0];
    data.model.input_height = shape[1];
    data.model.input_width = shape[2];
  } else {
    data.model.input_channels = data.model.input_height = 1;
    data.model.input_width = train.example_size();
  }
  TRIB_ASSIGN_OR_RETURN(data.train,
                        TensorDataset::FromArrays(std::move(train.features), shape, train.labels));
  TRIB_ASSIGN_OR_RETURN(data.test,
                        TensorDataset::FromArrays(std::move(test.features), shape, test.labels));
  return data;
}

}  // namespace tributary
