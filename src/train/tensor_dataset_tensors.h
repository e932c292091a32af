// The torch side of TensorDataset. Internal to train/: pulls in libtorch.
#ifndef TRIBUTARY_TRAIN_TENSOR_DATASET_TENSORS_H_
#define TRIBUTARY_TRAIN_TENSOR_DATASET_TENSORS_H_

#include <torch/types.h>

#include <optional>
#include <span>
#include <vector>

#include "train/tensor_dataset.h"

namespace tributary {

struct TensorDataset::Tensors {
  // Images: stored [N, C, H, W] uint8 pixels (or `image_file` and `image_shape` [C, H, W],
  // `stored` then undefined), targets [N] int64 (class labels).
  // Feature arrays: stored [N, ...] float32, targets [N] int64.
  // Token windows: stored [N, T] int64, targets [N, T] int64 (each input token's successor).
  torch::Tensor stored;
  torch::Tensor targets;
  // Set for images: the model sees (pixel / 255 - mean) / stddev in fp32.
  std::optional<Normalization> pixel_normalization;
  std::shared_ptr<const ImageRowFile> image_file;
  std::vector<int64_t> image_shape;

  // The model's inputs for the examples at `index` (int64), or for [start, stop).
  torch::Tensor Inputs(const torch::Tensor& index) const;
  torch::Tensor Inputs(int64_t start, int64_t stop) const;
  // Every example's model input (tests and small datasets: converts the whole set).
  torch::Tensor AllInputs() const { return Inputs(0, targets.size(0)); }

 private:
  torch::Tensor AsModelInput(torch::Tensor batch) const;
  // The file's images at `examples`, as a [B, C, H, W] uint8 batch; throws (c10::Error) when a
  // read fails, as the in-memory path does on a bad index.
  torch::Tensor ReadImages(std::span<const int64_t> examples) const;
};

}  // namespace tributary

#endif  // TRIBUTARY_TRAIN_TENSOR_DATASET_TENSORS_H_
