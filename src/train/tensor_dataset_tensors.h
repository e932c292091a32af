// The torch side of TensorDataset. Internal to train/: pulls in libtorch.
#ifndef TRIBUTARY_TRAIN_TENSOR_DATASET_TENSORS_H_
#define TRIBUTARY_TRAIN_TENSOR_DATASET_TENSORS_H_

#include <torch/types.h>

#include "train/tensor_dataset.h"

namespace tributary {

struct TensorDataset::Tensors {
  torch::Tensor images;  // [N, C, H, W] float32
  torch::Tensor labels;  // [N] int64
};

}  // namespace tributary

#endif  // TRIBUTARY_TRAIN_TENSOR_DATASET_TENSORS_H_
