// What each party loads (DataScope): a deployed client holds exactly its own examples, in its
// partition's order and with the simulator's values; a server holds no training examples; images
// converted per batch equal the split converted at once.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <numeric>

#include "engine/experiment_data.h"
#include "train/tensor_dataset_tensors.h"

namespace tributary {
namespace {

ExperimentConfig FashionMnistRun() {
  ExperimentConfig c;
  c.data.dataset = "fashion_mnist";
  c.data.max_train_examples = 3000;
  c.data.max_test_examples = 500;
  c.data.partition = {.scheme = PartitionScheme::kDirichlet, .num_clients = 7, .alpha = 0.5};
  c.model.name = "cnn";
  c.run.seed = 3;
  return c;
}

torch::Tensor IndexTensor(const ClientIndices& indices) {
  return torch::tensor(std::vector<int64_t>(indices.begin(), indices.end()), torch::kInt64);
}

// A client's data against the same client's examples in the whole training split.
void ExpectClientMatchesFull(const ExperimentData& full, const ExperimentData& mine,
                             uint32_t client) {
  const ClientIndices& own = full.partitions[client];
  ASSERT_NE(mine.train, nullptr);
  ASSERT_EQ(mine.train->size(), own.size());
  EXPECT_EQ(mine.test, nullptr);
  ASSERT_EQ(mine.partitions.size(), full.partitions.size());
  for (uint32_t c = 0; c < mine.partitions.size(); ++c) {
    if (c != client) {
      EXPECT_TRUE(mine.partitions[c].empty()) << c;
      continue;
    }
    ClientIndices iota(own.size());
    std::iota(iota.begin(), iota.end(), 0u);
    EXPECT_EQ(mine.partitions[c], iota);
  }
  const torch::Tensor index = IndexTensor(own);
  EXPECT_TRUE(torch::equal(mine.train->tensors().AllInputs(), full.train->tensors().Inputs(index)));
  EXPECT_TRUE(torch::equal(mine.train->tensors().targets,
                           full.train->tensors().targets.index_select(0, index)));
}

TEST(DataScopeTest, FashionMnistClientStreamsOnlyItsOwnImages) {
  const ExperimentConfig config = FashionMnistRun();
  absl::StatusOr<ExperimentData> full = LoadExperimentData(config);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->train->size(), 3000u);
  for (uint32_t client : {0u, 4u}) {
    absl::StatusOr<ExperimentData> mine = LoadExperimentData(config, DataScope::Client(client));
    ASSERT_TRUE(mine.ok()) << mine.status();
    ExpectClientMatchesFull(*full, *mine, client);
    EXPECT_EQ(mine->model.input_height, full->model.input_height);
  }
  EXPECT_FALSE(LoadExperimentData(config, DataScope::Client(7)).ok());  // no such client
}

TEST(DataScopeTest, FashionMnistServerHasTheTestSplitAndNoTrainingExamples) {
  const ExperimentConfig config = FashionMnistRun();
  absl::StatusOr<ExperimentData> full = LoadExperimentData(config);
  absl::StatusOr<ExperimentData> server = LoadExperimentData(config, DataScope::Server());
  ASSERT_TRUE(full.ok() && server.ok()) << server.status();
  EXPECT_EQ(server->train, nullptr);
  ASSERT_NE(server->test, nullptr);
  // Same normalization (from the training images, streamed), so the same evaluation inputs.
  EXPECT_TRUE(torch::equal(server->test->tensors().AllInputs(), full->test->tensors().AllInputs()));
  EXPECT_EQ(server->partitions, full->partitions);
  EXPECT_EQ(server->model.num_classes, 10);
}

TEST(DataScopeTest, OtherDatasetsAreNarrowedAfterLoading) {
  ExperimentConfig config;
  config.data.dataset = "csv";
  config.data.files.path = std::string(TRIBUTARY_SOURCE_DIR) + "/testdata/blobs.csv";
  config.data.partition = {.scheme = PartitionScheme::kIid, .num_clients = 4};
  config.model.name = "mlp";
  absl::StatusOr<ExperimentData> full = LoadExperimentData(config);
  absl::StatusOr<ExperimentData> mine = LoadExperimentData(config, DataScope::Client(2));
  ASSERT_TRUE(full.ok() && mine.ok()) << mine.status();
  ExpectClientMatchesFull(*full, *mine, 2);
}

TEST(DataScopeTest, ImagesConvertedPerBatchEqualTheSplitConvertedAtOnce) {
  LabeledImages images;
  images.rows = 5;
  images.cols = 3;
  images.num_classes = 4;
  for (int i = 0; i < 9; ++i) {
    images.labels.push_back(i % 4);
    for (int p = 0; p < 15; ++p)
      images.pixels.push_back(static_cast<uint8_t>((i * 37 + p * 11) % 256));
  }
  const TensorDataset::Normalization normalization = TensorDataset::ComputeNormalization(images);
  // The eager conversion that per-batch conversion replaced.
  const torch::Tensor eager = torch::from_blob(images.pixels.data(), {9, 1, 5, 3}, torch::kUInt8)
                                  .to(torch::kFloat32)
                                  .div_(255.0f)
                                  .sub_(normalization.mean)
                                  .div_(normalization.stddev);
  absl::StatusOr<std::shared_ptr<const TensorDataset>> data =
      TensorDataset::FromImages(images, normalization);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ((*data)->tensors().stored.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(torch::equal((*data)->tensors().AllInputs(), eager));
  const torch::Tensor index = torch::tensor(std::vector<int64_t>{7, 2, 2}, torch::kInt64);
  EXPECT_TRUE(torch::equal((*data)->tensors().Inputs(index), eager.index_select(0, index)));
  EXPECT_TRUE(torch::equal((*data)->tensors().Inputs(3, 6), eager.slice(0, 3, 6)));
  // A subset keeps the pixels and the transform.
  const std::vector<uint32_t> picked = {8, 0};
  absl::StatusOr<std::shared_ptr<const TensorDataset>> subset = (*data)->Subset(picked);
  ASSERT_TRUE(subset.ok()) << subset.status();
  EXPECT_TRUE(torch::equal((*subset)->tensors().AllInputs(),
                           eager.index_select(0, torch::tensor(std::vector<int64_t>{8, 0}))));
  EXPECT_FALSE((*data)->Subset(std::vector<uint32_t>{9}).ok());
  // Streamed statistics equal the whole split's.
  TensorDataset::PixelStatistics streamed;
  for (size_t i = 0; i < images.size(); ++i) streamed.Add(images.image(i));
  EXPECT_EQ(streamed.Result().mean, normalization.mean);
  EXPECT_EQ(streamed.Result().stddev, normalization.stddev);
}

}  // namespace
}  // namespace tributary
