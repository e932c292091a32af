// The CNN's convolutions called on oneDNN directly, with activations kept in the channel-blocked
// layout its kernels compute in. libtorch 1.13 runs the same oneDNN kernels, but takes and
// returns plain NCHW tensors, so every convolution, forward and backward, reorders its input and
// output between the two layouts: 8.5% of oneDNN's time in `simulate` of the Flower-style
// workload (ONEDNN_VERBOSE, docs/performance.md). The primitives are described as libtorch
// describes them, so oneDNN picks the same kernels and the results are libtorch's bit for bit.
#ifndef TRIBUTARY_MODEL_ONEDNN_CONVOLUTION_H_
#define TRIBUTARY_MODEL_ONEDNN_CONVOLUTION_H_

#include <torch/torch.h>

#include <cstdint>

namespace tributary {

// A channel-blocked activation is a contiguous float tensor [N, C / B, H, W, B]: channel c of
// pixel (h, w) at [n, c / B, h, w, c % B] (oneDNN's aBcd8b or aBcd16b). A plain [N, C, H, W]
// tensor is the case B = 1.
int64_t ChannelBlock(const torch::Tensor& activation);

// The block size of BlockedConv2d's output for a float CPU input of these sizes ([N, C, H, W]
// plain or [N, C / B, H, W, B] blocked) and this weight (stride 1, no padding), or 0 where oneDNN
// would not compute it in a layout this path handles without reorders (a CPU without its blocked
// kernels, channel counts that are not whole blocks): then use torch::conv2d.
// `input_needs_grad` adds the backward pass for the input to the check.
int64_t BlockedConv2dOutputBlock(at::IntArrayRef input_sizes, const torch::Tensor& weight,
                                 bool input_needs_grad);

// Process-wide switch, on by default; off (or libtorch's oneDNN switched off with
// at::globalContext().setUserEnabledMkldnn(false)) makes BlockedConv2dOutputBlock return 0, so
// a benchmark can time libtorch's NCHW path in the same run.
void SetBlockedConvolutions(bool enabled);

// torch::conv2d(input, weight, bias) (stride 1, no padding) with a plain or channel-blocked
// input and a channel-blocked output; differentiable in all three arguments. Only where
// BlockedConv2dOutputBlock is not 0.
torch::Tensor BlockedConv2d(const torch::Tensor& input, const torch::Tensor& weight,
                            const torch::Tensor& bias);

}  // namespace tributary

#endif  // TRIBUTARY_MODEL_ONEDNN_CONVOLUTION_H_
