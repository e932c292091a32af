#include "engine/datasets/synthetic_images_dataset.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace tributary {
namespace {

TEST(SyntheticImagesTest, EveryExampleIsAFunctionOfItsSplitAndIndex) {
  const LabeledImages a = GenerateSyntheticImages(DatasetSplit::kTrain, 2000);
  const LabeledImages b = GenerateSyntheticImages(DatasetSplit::kTrain, 3000);
  ASSERT_EQ(a.size(), 2000u);
  EXPECT_EQ(a.rows, 28);
  EXPECT_EQ(a.cols, 28);
  // A larger set starts with the smaller one; the test split is other examples.
  EXPECT_TRUE(std::equal(a.pixels.begin(), a.pixels.end(), b.pixels.begin()));
  EXPECT_TRUE(std::equal(a.labels.begin(), a.labels.end(), b.labels.begin()));
  const LabeledImages test = GenerateSyntheticImages(DatasetSplit::kTest, 2000);
  EXPECT_NE(test.pixels, a.pixels);
  // Every class appears, none more than about twice its share.
  std::vector<int> per_class(10, 0);
  for (uint8_t label : a.labels) ++per_class.at(label);
  for (int count : per_class) {
    EXPECT_GT(count, 100);
    EXPECT_LT(count, 400);
  }
  // Images of one class differ (shift and noise), and are not blank.
  EXPECT_NE(std::vector<uint8_t>(a.image(0).begin(), a.image(0).end()),
            std::vector<uint8_t>(a.image(1).begin(), a.image(1).end()));
  EXPECT_GT(*std::max_element(a.pixels.begin(), a.pixels.end()), 200);
}

TEST(SyntheticImagesTest, LoadsTheAskedSizeAndRefusesTooMany) {
  SyntheticImagesDataset dataset;
  ExperimentConfig config;
  config.data.dataset = "synthetic_images";
  config.model.name = "cnn";
  config.data.max_train_examples = 1200;
  config.data.max_test_examples = 300;
  config.data.partition = {.scheme = PartitionScheme::kDirichlet, .num_clients = 12};
  ASSERT_TRUE(dataset.Validate(config).ok());
  absl::StatusOr<ExperimentData> data = dataset.Load(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train->size(), 1200u);
  EXPECT_EQ(data->test->size(), 300u);
  EXPECT_EQ(data->partitions.size(), 12u);
  EXPECT_EQ(data->model.num_classes, 10);
  config.data.max_train_examples = SyntheticImagesDataset::kMaxExamples + 1;
  EXPECT_FALSE(dataset.Validate(config).ok());
  config.model.name = "gpt";
  config.data.max_train_examples = 0;
  EXPECT_FALSE(dataset.Validate(config).ok());
}

}  // namespace
}  // namespace tributary
