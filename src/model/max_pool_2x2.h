// 2x2 max pooling with stride 2 for the CNN: the same values and gradients as
// torch::max_pool2d(x, 2), bit for bit, but faster: libtorch 1.13's CPU kernel for contiguous
// NCHW float input took a quarter of the CPU time of `simulate` on the Fashion-MNIST CNN
// (perf; docs/performance.md), this one 2.4%. It keeps one byte per output for the backward
// pass, where libtorch keeps an int64 index.
#ifndef TRIBUTARY_MODEL_MAX_POOL_2X2_H_
#define TRIBUTARY_MODEL_MAX_POOL_2X2_H_

#include <torch/torch.h>

namespace tributary {

// torch::max_pool2d(x, 2) for any input; contiguous 4-D float input takes the fast path. Within a
// window the first maximum in row-major order wins and a NaN wins over any number (the last NaN
// over earlier ones), as in libtorch; the gradient goes to that one input.
torch::Tensor MaxPool2x2(const torch::Tensor& x);

}  // namespace tributary

#endif  // TRIBUTARY_MODEL_MAX_POOL_2X2_H_
