// relu(max_pool2d(x, 2)) for the CNN's channel-blocked activations (model/onednn_convolution.h):
// the values and gradients of torch::relu(MaxPool2x2(x)) on the same data in NCHW, bit for bit,
// read and written in the layout oneDNN's convolutions use, so no reorder sits between them.
#ifndef TRIBUTARY_MODEL_BLOCKED_MAX_POOL_RELU_H_
#define TRIBUTARY_MODEL_BLOCKED_MAX_POOL_RELU_H_

#include <torch/torch.h>

namespace tributary {

// `blocked` is [N, C / B, H, W, B] with B 8 or 16. The result is blocked the same way, or plain
// [N, C, H / 2, W / 2] with `plain_output` (for a flattening layer). Within a window the first
// maximum in row-major order wins and a NaN wins over any number, as in libtorch; the ReLU keeps
// NaN and -0.0 as libtorch's does, and passes the gradient wherever its output is not <= 0.
torch::Tensor BlockedMaxPool2x2Relu(const torch::Tensor& blocked, bool plain_output);

}  // namespace tributary

#endif  // TRIBUTARY_MODEL_BLOCKED_MAX_POOL_RELU_H_
