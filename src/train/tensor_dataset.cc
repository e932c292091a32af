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
    tensors->images = x.sub_(normalization.mean).div_(normalization.stddev).contiguous();
    tensors->labels =
        torch::from_blob(const_cast<uint8_t*>(images.labels.data()), {n}, torch::kUInt8)
            .to(torch::kInt64);
    return std::shared_ptr<const TensorDataset>(
        new TensorDataset(std::move(tensors), static_cast<size_t>(n)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("building tensors: ", e.what_without_backtrace()));
  }
}

}  // namespace tributary
