#include "model/onednn_convolution.h"

#include <gtest/gtest.h>

#include "model/blocked_max_pool_relu.h"
#include "model/max_pool_2x2.h"
#include "model/pooling_test_inputs.h"

namespace tributary {
namespace {

// [N, C / B, H, W, B] -> [N, C, H, W] and back.
torch::Tensor Unblock(const torch::Tensor& t) {
  return t.permute({0, 1, 4, 2, 3}).reshape({t.size(0), -1, t.size(2), t.size(3)});
}
torch::Tensor Block(const torch::Tensor& t, int64_t block) {
  return t.reshape({t.size(0), t.size(1) / block, block, t.size(2), t.size(3)})
      .permute({0, 1, 3, 4, 2})
      .contiguous();
}

struct Layer {
  torch::Tensor weight, bias;
};

Layer RandomLayer(int64_t in, int64_t out, uint64_t seed) {
  torch::manual_seed(seed);
  return {(torch::randn({out, in, 5, 5}) * 0.2).requires_grad_(true),
          (torch::randn({out}) * 0.1).requires_grad_(true)};
}

// The CNN's two convolution layers (model/network.cc) both ways: libtorch's NCHW path
// (conv2d, MaxPool2x2, relu) and the blocked one, from the same input and parameters, with the
// same gradient arriving at the flattened features. Every value and gradient must agree bit for
// bit: the blocked path is only worth having if it changes no run's results.
void ExpectBlockedLayersAreLibtorchs(int64_t batch, int64_t in_channels, uint64_t seed) {
  const Layer first = RandomLayer(in_channels, 32, seed), second = RandomLayer(32, 64, seed + 1);
  torch::manual_seed(seed + 2);
  const torch::Tensor x = torch::randn({batch, in_channels, 28, 28});

  ASSERT_NE(BlockedConv2dOutputBlock(x.sizes(), first.weight, false), 0)
      << "oneDNN computes this CPU's convolutions in a layout BlockedConv2d does not handle";
  torch::Tensor h = BlockedMaxPool2x2Relu(BlockedConv2d(x, first.weight, first.bias), false);
  ASSERT_NE(BlockedConv2dOutputBlock(h.sizes(), second.weight, true), 0);
  const torch::Tensor blocked_hidden = h;
  const torch::Tensor ours =
      BlockedMaxPool2x2Relu(BlockedConv2d(h, second.weight, second.bias), true);

  const Layer first_ref{first.weight.detach().clone().requires_grad_(true),
                        first.bias.detach().clone().requires_grad_(true)};
  const Layer second_ref{second.weight.detach().clone().requires_grad_(true),
                         second.bias.detach().clone().requires_grad_(true)};
  const torch::Tensor hidden =
      torch::relu(MaxPool2x2(torch::conv2d(x, first_ref.weight, first_ref.bias)));
  const torch::Tensor theirs =
      torch::relu(MaxPool2x2(torch::conv2d(hidden, second_ref.weight, second_ref.bias)));

  EXPECT_TRUE(SameBits(Unblock(blocked_hidden), hidden)) << "first layer's output differs";
  ASSERT_TRUE(SameBits(ours, theirs)) << "second layer's output differs";

  torch::Tensor grad = torch::randn(theirs.sizes());
  grad.data_ptr<float>()[0] = -0.0f;
  ours.backward(grad);
  theirs.backward(grad);
  EXPECT_TRUE(SameBits(first.weight.grad(), first_ref.weight.grad()));
  EXPECT_TRUE(SameBits(first.bias.grad(), first_ref.bias.grad()));
  EXPECT_TRUE(SameBits(second.weight.grad(), second_ref.weight.grad()));
  EXPECT_TRUE(SameBits(second.bias.grad(), second_ref.bias.grad()));
}

TEST(OnednnConvolutionTest, TheCnnsLayersGiveLibtorchsValuesAndGradientsBitForBit) {
  ExpectBlockedLayersAreLibtorchs(32, 1, 1);  // a training batch of the Fashion-MNIST CNN
  ExpectBlockedLayersAreLibtorchs(24, 1, 2);  // an epoch's last, smaller batch
  ExpectBlockedLayersAreLibtorchs(5, 3, 3);   // three input channels
}

// compute.threads_per_worker > 1: oneDNN splits the work by the thread count (the plans are kept
// per count), and libtorch's path with the same count must still agree bit for bit.
TEST(OnednnConvolutionTest, TwoComputeThreadsGiveLibtorchsResultsToo) {
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  ExpectBlockedLayersAreLibtorchs(32, 1, 4);
  at::set_num_threads(threads);
}

TEST(OnednnConvolutionTest, TheInputsGradientIsLibtorchs) {
  const Layer layer = RandomLayer(32, 64, 7);
  torch::manual_seed(8);
  const torch::Tensor plain = torch::randn({6, 32, 12, 12});
  // 32 input channels: oneDNN takes them blocked, as the first layer's pooled output is.
  const int64_t block =
      BlockedConv2dOutputBlock({6, 1, 16, 16}, layer.weight.slice(1, 0, 1), false);
  ASSERT_NE(block, 0);
  const torch::Tensor blocked_in = Block(plain, block).requires_grad_(true);
  ASSERT_NE(BlockedConv2dOutputBlock(blocked_in.sizes(), layer.weight, true), 0);
  EXPECT_EQ(BlockedConv2dOutputBlock(plain.sizes(), layer.weight, true), 0);
  const torch::Tensor plain_in = plain.clone().requires_grad_(true);
  const torch::Tensor ours = BlockedConv2d(blocked_in, layer.weight, layer.bias);
  const torch::Tensor theirs = torch::conv2d(plain_in, layer.weight, layer.bias);
  ASSERT_TRUE(SameBits(Unblock(ours), theirs));
  const torch::Tensor grad = torch::randn(theirs.sizes());
  ours.backward(Block(grad, ours.size(4)));
  theirs.backward(grad);
  EXPECT_TRUE(SameBits(Unblock(blocked_in.grad()), plain_in.grad()));
}

TEST(OnednnConvolutionTest, ShapesItDoesNotHandleAreLeftToLibtorch) {
  const torch::Tensor weight = torch::randn({32, 1, 5, 5});
  EXPECT_EQ(BlockedConv2dOutputBlock({2, 1, 4, 4}, weight, false), 0);    // smaller than the kernel
  EXPECT_EQ(BlockedConv2dOutputBlock({2, 3, 28, 28}, weight, false), 0);  // channels disagree
  EXPECT_EQ(BlockedConv2dOutputBlock({2, 1, 28, 28}, weight.to(torch::kDouble), false), 0);
  EXPECT_EQ(BlockedConv2dOutputBlock({0, 1, 28, 28}, weight, false), 0);
  // Off by the switch, and with libtorch's oneDNN switched off.
  ASSERT_NE(BlockedConv2dOutputBlock({2, 1, 28, 28}, weight, false), 0);
  SetBlockedConvolutions(false);
  EXPECT_EQ(BlockedConv2dOutputBlock({2, 1, 28, 28}, weight, false), 0);
  SetBlockedConvolutions(true);
  at::globalContext().setUserEnabledMkldnn(false);
  EXPECT_EQ(BlockedConv2dOutputBlock({2, 1, 28, 28}, weight, false), 0);
  at::globalContext().setUserEnabledMkldnn(true);
}

void ExpectPoolIsLibtorchs(const torch::Tensor& plain, int64_t block, bool plain_output) {
  const torch::Tensor blocked_in = Block(plain, block).requires_grad_(true);
  const torch::Tensor plain_in = plain.clone().requires_grad_(true);
  const torch::Tensor ours = BlockedMaxPool2x2Relu(blocked_in, plain_output);
  const torch::Tensor theirs = torch::relu(torch::max_pool2d(plain_in, 2));
  ASSERT_TRUE(SameBits(plain_output ? ours : Unblock(ours), theirs))
      << "forward differs for sizes " << plain.sizes() << ", block " << block;
  torch::Tensor grad = torch::randn(theirs.sizes());
  grad.data_ptr<float>()[0] = -0.0f;
  ours.backward(plain_output ? grad : Block(grad, block));
  theirs.backward(grad);
  EXPECT_TRUE(SameBits(Unblock(blocked_in.grad()), plain_in.grad()))
      << "gradient differs for sizes " << plain.sizes() << ", block " << block;
}

TEST(BlockedMaxPoolReluTest, TiesNansInfinitiesAndSignedZerosGoWhereLibtorchSendsThem) {
  for (const bool plain_output : {false, true}) {
    ExpectPoolIsLibtorchs(TieRichInput({3, 32, 8, 8}, 1), 16, plain_output);
    ExpectPoolIsLibtorchs(TieRichInput({2, 16, 24, 24}, 2), 8, plain_output);
    ExpectPoolIsLibtorchs(TieRichInput({2, 16, 7, 5}, 3), 16, plain_output);  // odd sizes
    ExpectPoolIsLibtorchs(torch::randn({4, 64, 8, 8}), 16, plain_output);
  }
}

TEST(BlockedMaxPoolReluTest, RefusesWhatIsNotBlocked) {
  EXPECT_THROW(BlockedMaxPool2x2Relu(torch::randn({2, 16, 8, 8}), false), c10::Error);
  EXPECT_THROW(BlockedMaxPool2x2Relu(torch::randn({2, 2, 8, 8, 4}), false), c10::Error);
}

}  // namespace
}  // namespace tributary
