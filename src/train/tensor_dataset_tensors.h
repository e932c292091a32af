// The torch side of TensorDataset. Internal to train/: pulls in libtorch.
#ifndef TRIBUTARY_TRAIN_TENSOR_DATASET_TENSORS_H_
#define TRIBUTARY_TRAIN_TENSOR_DATASET_TENSORS_H_

#include <torch/types.h>

#include <optional>

#include "train/tensor_dataset.h"

namespace tributary {

struct TensorDataset::Tensors {
  // Images: stored [N, C, H, W] uint8 pixels, targets [N] int64 (class labels).
  // Feature arrays: stored [N, ...] float32, targets [N] int64.
  // Token windows: stored [N, T] int64, targets [N, T] int64 (each input token's successor).
  torch::Tensor stored;
  torch::Tensor targets;
  // Set for images: the model sees (pixel / 255 - mean) / stddev in fp32.
  std::optional<Normalization> pixel_normalization;

  // The model's inputs for the examples at `index` (int64), or for [start, stop).
  torch::Tensor Inputs(const torch::Tensor& index) const;
  torch::Tensor Inputs(int64_t start, int64_t stop) const;
  // Every example's model input (tests and small datasets: converts the whole set).
  torch::Tensor AllInputs() const { return Inputs(0, stored.size(0)); }

 private:
  torch::Tensor AsModelInput(torch::Tensor batch) const;
};

}  // namespace tributary

#endif  // TRIBUTARY_TRAIN_TENSOR_DATASET_TENSORS_H_
