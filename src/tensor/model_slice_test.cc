#include "tensor/model_slice.h"

#include <gtest/gtest.h>

namespace tributary {
namespace {

TEST(ModelSliceTest, LeadingBlocksOfEveryTensor) {
  // w: 3 x 4 -> 2 x 2 (rows 0-1, columns 0-1); b: 3 -> 2.
  auto slice = *ModelSlice::Create({{"w", {3, 4}}, {"b", {3}}}, {{"w", {2, 2}}, {"b", {2}}});
  EXPECT_EQ(slice.narrow_size(), 6u);
  EXPECT_EQ(slice.covered(), (std::vector<uint32_t>{0, 1, 4, 5, 12, 13}));
  std::vector<float> wide(15);
  for (size_t i = 0; i < wide.size(); ++i) wide[i] = static_cast<float>(i);
  std::vector<float> narrow(6);
  slice.Extract(wide, narrow);
  EXPECT_EQ(narrow, (std::vector<float>{0, 1, 4, 5, 12, 13}));
  std::vector<float> back(15, 7.0f);
  slice.ScatterInto(narrow, back);
  EXPECT_EQ(back, (std::vector<float>{0, 1, 0, 0, 4, 5, 0, 0, 0, 0, 0, 0, 12, 13, 0}));
}

TEST(ModelSliceTest, RejectsModelsThatAreNotSlices) {
  EXPECT_FALSE(ModelSlice::Create({{"w", {2, 2}}}, {{"w", {3, 2}}}).ok());
  EXPECT_FALSE(ModelSlice::Create({{"w", {2, 2}}}, {{"v", {2, 2}}}).ok());
  EXPECT_FALSE(ModelSlice::Create({{"w", {2, 2}}}, {{"w", {4}}}).ok());
  EXPECT_FALSE(ModelSlice::Create({{"w", {2}}}, {}).ok());
}

}  // namespace
}  // namespace tributary
