#include "engine/local_layers.h"

#include <gtest/gtest.h>

namespace tributary {
namespace {

const std::vector<TensorSpec> kLayout = {
    {"fc1.weight", {2, 2}}, {"fc1.bias", {2}}, {"fc2.weight", {1, 2}}, {"fc2.bias", {1}}};

TEST(LocalLayersTest, SplitsTheModelIntoSharedAndLocalParts) {
  auto layers = *LocalLayers::Create(kLayout, "fc2");
  ASSERT_TRUE(layers.any());
  EXPECT_EQ(layers.shared_size(), 6u);
  EXPECT_EQ(layers.local_size(), 3u);
  ASSERT_EQ(layers.shared_layout().size(), 2u);
  EXPECT_EQ(layers.shared_layout()[1].name, "fc1.bias");
  const std::vector<float> full = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<float> shared, local;
  layers.GatherShared(full, &shared);
  layers.GatherLocal(full, &local);
  EXPECT_EQ(shared, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(local, (std::vector<float>{7, 8, 9}));
  std::vector<float> back(9, -1.0f);
  layers.ScatterShared(shared, back);
  EXPECT_EQ(back, (std::vector<float>{1, 2, 3, 4, 5, 6, 0, 0, 0}));
  layers.ScatterLocal(local, back);
  EXPECT_EQ(back, full);
}

TEST(LocalLayersTest, EmptyMeansNothingLocalAndBadPrefixesAreErrors) {
  EXPECT_FALSE(LocalLayers::Create(kLayout, "")->any());
  EXPECT_EQ(LocalLayers::Create(kLayout, " fc2.bias , fc1.bias")->local_size(), 3u);
  EXPECT_FALSE(LocalLayers::Create(kLayout, "head").ok());
  EXPECT_FALSE(LocalLayers::Create(kLayout, "fc").ok()) << "everything local";
}

}  // namespace
}  // namespace tributary
