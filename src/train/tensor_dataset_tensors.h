// The torch side of TensorDataset. Internal to train/: pulls in libtorch.
#ifndef TRIBUTARY_TRAIN_TENSOR_DATASET_TENSORS_H_
#define TRIBUTARY_TRAIN_TENSOR_DATASET_TENSORS_H_

#include <torch/types.h>

#include "train/tensor_dataset.h"

namespace tributary {

struct TensorDataset::Tensors {
  // Images: inputs [N, C, H, W] float32, targets [N] int64 (class labels).
  // Token windows: inputs [N, T] int64, targets [N, T] int64 (each input token's successor).
  torch::Tensor inputs;
  torch::Tensor targets;
};

}  // namespace tributary

#endif  // TRIBUTARY_TRAIN_TENSOR_DATASET_TENSORS_H_
