#include "train/tensor_dataset.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "train/tensor_dataset_tensors.h"

namespace tributary {

TensorDataset::TensorDataset(std::unique_ptr<Tensors> tensors, size_t size)
    : tensors_(std::move(tensors)), size_(size) {}

TensorDataset::~TensorDataset() = default;

void TensorDataset::PixelStatistics::Add(std::span<const uint8_t> pixels) {
  for (uint8_t p : pixels) {
    const double v = p / 255.0;
    sum_ += v;
    sum_squares_ += v * v;
  }
  count_ += pixels.size();
}

TensorDataset::Normalization TensorDataset::PixelStatistics::Result() const {
  const double n = std::max<double>(1.0, count_);
  const double mean = sum_ / n;
  const double variance = std::max(0.0, sum_squares_ / n - mean * mean);
  return {static_cast<float>(mean), static_cast<float>(std::max(std::sqrt(variance), 1e-6))};
}

TensorDataset::Normalization TensorDataset::ComputeNormalization(const LabeledImages& images) {
  PixelStatistics statistics;
  statistics.Add(images.pixels);
  return statistics.Result();
}

torch::Tensor TensorDataset::Tensors::AsModelInput(torch::Tensor batch) const {
  if (!pixel_normalization) return batch;
  // The operations (and their order) of converting a whole split at once, so a batch's values
  // do not depend on whether the split was converted eagerly.
  return batch.to(torch::kFloat32)
      .div_(255.0f)
      .sub_(pixel_normalization->mean)
      .div_(pixel_normalization->stddev);
}

torch::Tensor TensorDataset::Tensors::ReadImages(std::span<const int64_t> examples) const {
  std::vector<int64_t> sizes = {static_cast<int64_t>(examples.size())};
  sizes.insert(sizes.end(), image_shape.begin(), image_shape.end());
  torch::Tensor batch = torch::empty(sizes, torch::kUInt8);
  const size_t bytes = image_file->image_bytes();
  uint8_t* out = batch.data_ptr<uint8_t>();
  for (size_t k = 0; k < examples.size(); ++k) {
    TORCH_CHECK(examples[k] >= 0, "negative example index");
    const absl::Status read =
        image_file->Read(static_cast<size_t>(examples[k]), {out + k * bytes, bytes});
    TORCH_CHECK(read.ok(), read.ToString());
  }
  return batch;
}

torch::Tensor TensorDataset::Tensors::Inputs(const torch::Tensor& index) const {
  if (!image_file) return AsModelInput(stored.index_select(0, index));
  const torch::Tensor positions = index.to(torch::kInt64).contiguous();
  return AsModelInput(
      ReadImages({positions.data_ptr<int64_t>(), static_cast<size_t>(positions.numel())}));
}

torch::Tensor TensorDataset::Tensors::Inputs(int64_t start, int64_t stop) const {
  if (!image_file) return AsModelInput(stored.slice(0, start, stop));
  const int64_t n = targets.size(0);
  start = std::clamp<int64_t>(start, 0, n);
  stop = std::clamp<int64_t>(stop, start, n);
  std::vector<int64_t> examples(static_cast<size_t>(stop - start));
  for (size_t k = 0; k < examples.size(); ++k) examples[k] = start + static_cast<int64_t>(k);
  return AsModelInput(ReadImages(examples));
}

absl::StatusOr<std::shared_ptr<const TensorDataset>> TensorDataset::FromImages(
    LabeledImages images, Normalization normalization) {
  const int64_t n = static_cast<int64_t>(images.size());
  if (n == 0) return absl::InvalidArgumentError("empty dataset");
  if (images.pixels.size() != static_cast<size_t>(n * images.rows * images.cols)) {
    return absl::InvalidArgumentError("pixel buffer does not match the image count and size");
  }
  try {
    auto tensors = std::make_unique<Tensors>();
    tensors->targets = torch::from_blob(images.labels.data(), {n}, torch::kUInt8).to(torch::kInt64);
    auto* owned = new std::vector<uint8_t>(std::move(images.pixels));
    tensors->stored = torch::from_blob(
        owned->data(), {n, 1, images.rows, images.cols}, [owned](void*) { delete owned; },
        torch::kUInt8);
    tensors->pixel_normalization = normalization;
    return std::shared_ptr<const TensorDataset>(
        new TensorDataset(std::move(tensors), static_cast<size_t>(n)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("building tensors: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<std::shared_ptr<const TensorDataset>> TensorDataset::FromImageFile(
    std::shared_ptr<const ImageRowFile> file, int64_t rows, int64_t cols,
    std::span<const uint8_t> labels, Normalization normalization) {
  const int64_t n = static_cast<int64_t>(labels.size());
  if (n == 0) return absl::InvalidArgumentError("empty dataset");
  if (file == nullptr || file->size() != labels.size() || rows <= 0 || cols <= 0 ||
      file->image_bytes() != static_cast<size_t>(rows * cols)) {
    return absl::InvalidArgumentError("image file does not match the labels or the image size");
  }
  try {
    auto tensors = std::make_unique<Tensors>();
    tensors->targets =
        torch::from_blob(const_cast<uint8_t*>(labels.data()), {n}, torch::kUInt8).to(torch::kInt64);
    tensors->image_file = std::move(file);
    tensors->image_shape = {1, rows, cols};
    tensors->pixel_normalization = normalization;
    return std::shared_ptr<const TensorDataset>(
        new TensorDataset(std::move(tensors), static_cast<size_t>(n)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("building tensors: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<std::shared_ptr<const TensorDataset>> TensorDataset::FromArrays(
    std::vector<float> features, std::span<const int64_t> example_shape,
    std::span<const int64_t> labels) {
  const int64_t n = static_cast<int64_t>(labels.size());
  if (n == 0) return absl::InvalidArgumentError("empty dataset");
  std::vector<int64_t> sizes = {n};
  int64_t per_example = 1;
  for (int64_t d : example_shape) {
    sizes.push_back(d);
    per_example *= d;
  }
  if (features.size() != static_cast<size_t>(n * per_example)) {
    return absl::InvalidArgumentError("feature buffer does not match the example count and shape");
  }
  try {
    auto tensors = std::make_unique<Tensors>();
    auto* owned = new std::vector<float>(std::move(features));
    tensors->stored = torch::from_blob(
        owned->data(), sizes, [owned](void*) { delete owned; }, torch::kFloat32);
    tensors->targets =
        torch::tensor(std::vector<int64_t>(labels.begin(), labels.end()), torch::kInt64);
    return std::shared_ptr<const TensorDataset>(
        new TensorDataset(std::move(tensors), static_cast<size_t>(n)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("building tensors: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<std::shared_ptr<const TensorDataset>> TensorDataset::Subset(
    std::span<const uint32_t> indices) const {
  if (indices.empty()) return absl::InvalidArgumentError("empty subset");
  for (uint32_t i : indices) {
    if (i >= size_) {
      return absl::OutOfRangeError(absl::StrCat("example ", i, " outside the dataset of ", size_));
    }
  }
  try {
    const std::vector<int64_t> positions(indices.begin(), indices.end());
    const torch::Tensor index =
        torch::tensor(positions, torch::TensorOptions().dtype(torch::kInt64));
    auto subset = std::make_unique<Tensors>();
    if (tensors_->image_file) {
      TRIB_ASSIGN_OR_RETURN(subset->image_file, tensors_->image_file->Subset(indices));
      subset->image_shape = tensors_->image_shape;
    } else {
      subset->stored = tensors_->stored.index_select(0, index);
    }
    subset->targets = tensors_->targets.index_select(0, index);
    subset->pixel_normalization = tensors_->pixel_normalization;
    return std::shared_ptr<const TensorDataset>(
        new TensorDataset(std::move(subset), indices.size()));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("selecting examples: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<std::shared_ptr<const TensorDataset>> TensorDataset::FromTokenWindows(
    std::span<const int32_t> tokens, int64_t context) {
  if (context < 1) return absl::InvalidArgumentError("context length must be positive");
  const int64_t window = context + 1;
  if (tokens.size() % window != 0) {
    return absl::InvalidArgumentError("token buffer is not a whole number of windows");
  }
  const int64_t n = static_cast<int64_t>(tokens.size()) / window;
  if (n == 0) return absl::InvalidArgumentError("empty dataset");
  try {
    auto tensors = std::make_unique<Tensors>();
    torch::Tensor all =
        torch::from_blob(const_cast<int32_t*>(tokens.data()), {n, window}, torch::kInt32)
            .to(torch::kInt64);
    tensors->stored = all.slice(1, 0, context).contiguous();
    tensors->targets = all.slice(1, 1, window).contiguous();
    return std::shared_ptr<const TensorDataset>(
        new TensorDataset(std::move(tensors), static_cast<size_t>(n)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("building tensors: ", e.what_without_backtrace()));
  }
}

}  // namespace tributary
