#include "engine/datasets/synthetic_images_dataset.h"

#include <algorithm>
#include <array>

#include "absl/strings/str_cat.h"
#include "common/seeded_rng.h"

namespace tributary {
namespace {

constexpr int kClasses = 10;
constexpr int kSide = 28;
constexpr int kBlobsPerClass = 3;
constexpr int kMaxShift = 3;      // pixels, each way
constexpr int kNoiseLevels = 81;  // pixel noise uniform in [-40, 40]
// The data's own seed: fixed, so the examples do not change with run.seed.
constexpr uint64_t kDataSeed = 0x7a11b5eedULL;

using Pattern = std::array<float, kSide * kSide>;

// Class k's pattern in [0, 1]: a few elliptic blobs with a linear fall-off. Only +, *, / and
// comparisons, so every IEEE machine computes the same bytes.
Pattern ClassPattern(int k) {
  Rng rng = MakeRng(kDataSeed, /*round=*/0, /*client=*/1000 + k, RngPurpose::kSyntheticData);
  Pattern pattern{};
  for (int b = 0; b < kBlobsPerClass; ++b) {
    const double cy = 6 + static_cast<double>(UniformBelow(rng, 16));
    const double cx = 6 + static_cast<double>(UniformBelow(rng, 16));
    const double ry = 2.5 + static_cast<double>(UniformBelow(rng, 6));
    const double rx = 2.5 + static_cast<double>(UniformBelow(rng, 6));
    const double amplitude = 0.5 + 0.5 * UniformUnit(rng);
    for (int y = 0; y < kSide; ++y) {
      for (int x = 0; x < kSide; ++x) {
        const double dy = (y - cy) / ry, dx = (x - cx) / rx;
        const double value = amplitude * (1.0 - dy * dy - dx * dx);
        if (value > 0) pattern[y * kSide + x] += static_cast<float>(value);
      }
    }
  }
  for (float& v : pattern) v = std::min(v, 1.0f);
  return pattern;
}

}  // namespace

LabeledImages GenerateSyntheticImages(DatasetSplit split, size_t count) {
  std::array<Pattern, kClasses> patterns;
  for (int k = 0; k < kClasses; ++k) patterns[k] = ClassPattern(k);
  LabeledImages images;
  images.rows = kSide;
  images.cols = kSide;
  images.num_classes = kClasses;
  images.labels.resize(count);
  images.pixels.resize(count * kSide * kSide);
  const uint64_t stream = split == DatasetSplit::kTrain ? 1 : 2;
  for (size_t i = 0; i < count; ++i) {
    Rng rng = MakeRng(kDataSeed, stream, i, RngPurpose::kSyntheticData);
    const int label = static_cast<int>(UniformBelow(rng, kClasses));
    const int shift_y = static_cast<int>(UniformBelow(rng, 2 * kMaxShift + 1)) - kMaxShift;
    const int shift_x = static_cast<int>(UniformBelow(rng, 2 * kMaxShift + 1)) - kMaxShift;
    images.labels[i] = static_cast<uint8_t>(label);
    const Pattern& pattern = patterns[label];
    uint8_t* out = images.pixels.data() + i * kSide * kSide;
    uint64_t noise_bits = 0;
    for (int p = 0; p < kSide * kSide; ++p) {
      if (p % 8 == 0) noise_bits = rng();  // eight noise bytes per draw
      const int noise = static_cast<int>(((noise_bits & 0xff) * kNoiseLevels) >> 8) - 40;
      noise_bits >>= 8;
      const int y = p / kSide - shift_y, x = p % kSide - shift_x;
      const bool inside = y >= 0 && y < kSide && x >= 0 && x < kSide;
      const int clean = inside ? static_cast<int>(pattern[y * kSide + x] * 215.0f) : 0;
      out[p] = static_cast<uint8_t>(std::clamp(clean + noise + 20, 0, 255));
    }
  }
  return images;
}

absl::Status SyntheticImagesDataset::Validate(const ExperimentConfig& config) const {
  if (config.model.name == "gpt") {
    return absl::InvalidArgumentError(
        "model.name = gpt needs a text dataset (data.dataset = sotu or text)");
  }
  if (config.data.max_train_examples > kMaxExamples ||
      config.data.max_test_examples > kMaxExamples) {
    return absl::InvalidArgumentError(
        absl::StrCat("data.dataset = synthetic_images generates at most ", kMaxExamples,
                     " examples per split (data.max_train_examples, data.max_test_examples)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ExperimentData> SyntheticImagesDataset::Load(const ExperimentConfig& config) const {
  const auto count = [](int64_t asked, int64_t fallback) {
    return static_cast<size_t>(asked > 0 ? asked : fallback);
  };
  LabeledImages train = GenerateSyntheticImages(
      DatasetSplit::kTrain, count(config.data.max_train_examples, kDefaultTrainExamples));
  LabeledImages test = GenerateSyntheticImages(
      DatasetSplit::kTest, count(config.data.max_test_examples, kDefaultTestExamples));
  ExperimentData data;
  TRIB_ASSIGN_OR_RETURN(data.partitions, PartitionExamples(train.labels, kClasses,
                                                           config.data.partition, config.run.seed));
  TensorDataset::PixelStatistics statistics;
  for (size_t i = 0; i < train.size(); ++i) statistics.Add(train.image(i));
  const TensorDataset::Normalization normalization = statistics.Result();
  data.model = config.model;
  data.model.input_channels = 1;
  data.model.input_height = kSide;
  data.model.input_width = kSide;
  data.model.num_classes = kClasses;
  TRIB_ASSIGN_OR_RETURN(data.train, TensorDataset::FromImages(std::move(train), normalization));
  TRIB_ASSIGN_OR_RETURN(data.test, TensorDataset::FromImages(std::move(test), normalization));
  return data;
}

}  // namespace tributary
