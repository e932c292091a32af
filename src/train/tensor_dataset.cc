#include "train/tensor_dataset.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "train/tensor_dataset_tensors.h"

namespace tributary {

TensorDataset::TensorDataset(std::unique_ptr<Tensors> tensors, size_t size)
    : tensors_(std::move(tensors)), size_(size) {}

TensorDataset::~TensorDataset() = default;

TensorDataset::Normalization TensorDataset::ComputeNormalization(const LabeledImages& images) {
  double sum = 0.0, sum_squares = 0.0;
  for (uint8_t p : images.pixels) {
    const double v = p / 255.0;
    sum += v;
    sum_squares += v * v;
  }
  const double n = std::max<double>(1.0, images.pixels.size());
  const double mean = sum / n;
  const double variance = std::max(0.0, sum_squares / n - mean * mean);
  return {static_cast<float>(mean), static_cast<float>(std::max(std::sqrt(variance), 1e-6))};
}

absl::StatusOr<std::shared_ptr<const TensorDataset>> TensorDataset::FromImages(
    const LabeledImages& images, Normalization normalization) {
  const int64_t n = static_cast<int64_t>(images.size());
  if (n == 0) return absl::InvalidArgumentError("empty dataset");
  if (images.pixels.size() != static_cast<size_t>(n * images.rows * images.cols)) {
    return absl::InvalidArgumentError("pixel buffer does not match the image count and size");
  }
  try {
    auto tensors = std::make_unique<Tensors>();
    torch::Tensor bytes = torch::from_blob(const_cast<uint8_t*>(images.pixels.data()),
                                           {n, 1, images.rows, images.cols}, torch::kUInt8);
    torch::Tensor x = bytes.to(torch::kFloat32).div_(255.0f);
    tensors->inputs = x.sub_(normalization.mean).div_(normalization.stddev).contiguous();
    tensors->targets =
        torch::from_blob(const_cast<uint8_t*>(images.labels.data()), {n}, torch::kUInt8)
            .to(torch::kInt64);
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
    tensors->inputs = torch::from_blob(
        owned->data(), sizes, [owned](void*) { delete owned; }, torch::kFloat32);
    tensors->targets =
        torch::tensor(std::vector<int64_t>(labels.begin(), labels.end()), torch::kInt64);
    return std::shared_ptr<const TensorDataset>(
        new TensorDataset(std::move(tensors), static_cast<size_t>(n)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("building tensors: ", e.what_without_backtrace()));
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
    tensors->inputs = all.slice(1, 0, context).contiguous();
    tensors->targets = all.slice(1, 1, window).contiguous();
    return std::shared_ptr<const TensorDataset>(
        new TensorDataset(std::move(tensors), static_cast<size_t>(n)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("building tensors: ", e.what_without_backtrace()));
  }
}

}  // namespace tributary
