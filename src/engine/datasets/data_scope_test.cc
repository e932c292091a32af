// What each party loads (DataScope): a deployed client holds exactly its own examples, in its
// partition's order and with the simulator's values; a server holds no training examples; images
// converted per batch equal the split converted at once.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
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

// With the decompressed copy a client reads its images from that file batch by batch; without
// it (TRIBUTARY_CACHE_DIR=off) it holds them. Either way, the same inputs.
TEST(DataScopeTest, FashionMnistClientReadsItsImagesFromTheCachedCopy) {
  const char* before = std::getenv("TRIBUTARY_CACHE_DIR");
  const std::string saved = before != nullptr ? before : "";
  const std::filesystem::path cache = std::filesystem::temp_directory_path() /
                                      ("tributary_scope_cache_" + std::to_string(getpid()));
  const ExperimentConfig config = FashionMnistRun();
  absl::StatusOr<ExperimentData> full = LoadExperimentData(config);
  ASSERT_TRUE(full.ok()) << full.status();

  setenv("TRIBUTARY_CACHE_DIR", cache.c_str(), 1);
  absl::StatusOr<ExperimentData> on_disk = LoadExperimentData(config, DataScope::Client(3));
  setenv("TRIBUTARY_CACHE_DIR", "off", 1);
  absl::StatusOr<ExperimentData> held = LoadExperimentData(config, DataScope::Client(3));
  if (before != nullptr) {
    setenv("TRIBUTARY_CACHE_DIR", saved.c_str(), 1);
  } else {
    unsetenv("TRIBUTARY_CACHE_DIR");
  }
  ASSERT_TRUE(on_disk.ok()) << on_disk.status();
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_NE(on_disk->train->tensors().image_file, nullptr);
  EXPECT_FALSE(on_disk->train->tensors().stored.defined());
  EXPECT_EQ(held->train->tensors().image_file, nullptr);
  EXPECT_TRUE(held->train->tensors().stored.defined());
  ExpectClientMatchesFull(*full, *on_disk, 3);
  ExpectClientMatchesFull(*full, *held, 3);
  std::filesystem::remove_all(cache);
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

// `count` small images of varied pixels, labels cycling through `classes`.
LabeledImages PatternedImages(int count, int64_t rows, int64_t cols, int classes) {
  LabeledImages images;
  images.rows = rows;
  images.cols = cols;
  images.num_classes = classes;
  for (int i = 0; i < count; ++i) {
    images.labels.push_back(static_cast<uint8_t>(i % classes));
    for (int64_t p = 0; p < rows * cols; ++p) {
      images.pixels.push_back(static_cast<uint8_t>((i * 37 + p * 11) % 256));
    }
  }
  return images;
}

TEST(DataScopeTest, ImagesConvertedPerBatchEqualTheSplitConvertedAtOnce) {
  LabeledImages images = PatternedImages(9, 5, 3, 4);
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

// Images read from a file batch by batch equal the same images held, for every way of asking.
TEST(DataScopeTest, ImagesReadFromAFileEqualTheSameImagesHeld) {
  const LabeledImages images = PatternedImages(7, 2, 3, 3);
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("tributary_image_file_" + std::to_string(getpid())))
                               .string();
  {
    std::ofstream out(path, std::ios::binary);
    out.write("IDX.", 4);
    out.write(reinterpret_cast<const char*>(images.pixels.data()),
              static_cast<std::streamsize>(images.pixels.size()));
  }
  const TensorDataset::Normalization normalization = TensorDataset::ComputeNormalization(images);
  // The file's images 6, 1, 4 and 1 again, against the same images held.
  const std::vector<uint32_t> rows = {6, 1, 4, 1};
  LabeledImages chosen;
  chosen.rows = 2;
  chosen.cols = 3;
  chosen.num_classes = 3;
  for (uint32_t r : rows) {
    chosen.labels.push_back(images.labels[r]);
    const std::span<const uint8_t> pixels = images.image(r);
    chosen.pixels.insert(chosen.pixels.end(), pixels.begin(), pixels.end());
  }
  absl::StatusOr<std::shared_ptr<const TensorDataset>> held =
      TensorDataset::FromImages(chosen, normalization);
  absl::StatusOr<std::shared_ptr<const ImageRowFile>> file =
      ImageRowFile::Open(path, 4, 6, 7, rows);
  ASSERT_TRUE(held.ok() && file.ok()) << file.status();
  absl::StatusOr<std::shared_ptr<const TensorDataset>> read =
      TensorDataset::FromImageFile(*file, 2, 3, chosen.labels, normalization);
  ASSERT_TRUE(read.ok()) << read.status();
  const TensorDataset::Tensors& a = (*held)->tensors();
  const TensorDataset::Tensors& b = (*read)->tensors();
  EXPECT_TRUE(torch::equal(a.AllInputs(), b.AllInputs()));
  EXPECT_TRUE(torch::equal(a.targets, b.targets));
  const torch::Tensor index = torch::tensor(std::vector<int64_t>{3, 0, 3}, torch::kInt64);
  EXPECT_TRUE(torch::equal(a.Inputs(index), b.Inputs(index)));
  EXPECT_TRUE(torch::equal(a.Inputs(1, 3), b.Inputs(1, 3)));
  const std::vector<uint32_t> picked = {2, 0};
  absl::StatusOr<std::shared_ptr<const TensorDataset>> subset = (*read)->Subset(picked);
  ASSERT_TRUE(subset.ok()) << subset.status();
  EXPECT_TRUE(torch::equal((*subset)->tensors().AllInputs(),
                           a.Inputs(torch::tensor(std::vector<int64_t>{2, 0}))));
  // Labels that do not match the file's examples are refused.
  EXPECT_FALSE(
      TensorDataset::FromImageFile(*file, 2, 3, std::vector<uint8_t>(3, 0), normalization).ok());
  EXPECT_FALSE(TensorDataset::FromImageFile(*file, 3, 3, chosen.labels, normalization).ok());
  // A read that fails under the run throws, as a bad index into held images does, and the
  // trainer turns it into an error.
  std::filesystem::resize_file(path, 4 + 6 * 5);
  EXPECT_THROW(b.Inputs(0, 1), c10::Error);  // image 6 is gone
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace tributary
