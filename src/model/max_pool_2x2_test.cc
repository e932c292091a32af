#include "model/max_pool_2x2.h"

#include <gtest/gtest.h>

#include <limits>

#include "model/pooling_test_inputs.h"

namespace tributary {
namespace {

void ExpectSameAsTorch(const torch::Tensor& input) {
  torch::Tensor ours_in = input.clone().requires_grad_(true);
  torch::Tensor theirs_in = input.clone().requires_grad_(true);
  torch::Tensor ours = MaxPool2x2(ours_in);
  torch::Tensor theirs = torch::max_pool2d(theirs_in, 2);
  ASSERT_TRUE(SameBits(ours, theirs)) << "forward differs for sizes " << input.sizes();
  torch::Tensor grad = torch::randn(theirs.sizes());
  grad.data_ptr<float>()[0] = -0.0f;  // libtorch's backward turns it into +0.0
  ours.backward(grad);
  theirs.backward(grad);
  EXPECT_TRUE(SameBits(ours_in.grad(), theirs_in.grad()))
      << "gradient differs for sizes " << input.sizes();
}

TEST(MaxPool2x2Test, ValuesAndGradientsAreLibtorchsBitForBit) {
  ExpectSameAsTorch(TieRichInput({4, 3, 8, 8}, 1));
  ExpectSameAsTorch(TieRichInput({2, 5, 24, 24}, 2));
  ExpectSameAsTorch(TieRichInput({3, 2, 7, 5}, 3));  // odd sizes: the last row and column unused
  ExpectSameAsTorch(torch::randn({32, 32, 24, 24}));
}

TEST(MaxPool2x2Test, AllNanAndAllMinusInfinityWindowsPickWhatLibtorchPicks) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float minus_inf = -std::numeric_limits<float>::infinity();
  ExpectSameAsTorch(torch::full({1, 1, 4, 4}, nan));
  ExpectSameAsTorch(torch::full({1, 1, 4, 4}, minus_inf));
  torch::Tensor mixed = torch::tensor({1.0f, nan, nan, 2.0f}).view({1, 1, 2, 2});
  ExpectSameAsTorch(mixed);
}

TEST(MaxPool2x2Test, OtherInputsGoToLibtorch) {
  // Not contiguous, not float, too small: the same results through libtorch's own kernel.
  torch::Tensor wide = torch::randn({2, 3, 6, 8});
  torch::Tensor strided = wide.transpose(2, 3);
  EXPECT_TRUE(SameBits(MaxPool2x2(strided), torch::max_pool2d(strided, 2)));
  torch::Tensor doubles = torch::randn({1, 2, 4, 4}, torch::kDouble);
  EXPECT_TRUE(SameBits(MaxPool2x2(doubles), torch::max_pool2d(doubles, 2)));
  EXPECT_THROW(MaxPool2x2(torch::randn({1, 1, 1, 4})), c10::Error);
}

}  // namespace
}  // namespace tributary
