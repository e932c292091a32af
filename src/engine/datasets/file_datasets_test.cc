// The user-data formats (npz, csv, image_folder, text) on the fixtures that
// testdata/make_data_fixtures.py wrote, and on images this test writes with stb_image_write;
// malformed files end in clear errors with exit code 2.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include "common/test_shell.h"
#include "engine/experiment_data.h"
#include "run/simulation.h"
#include "train/tensor_dataset_tensors.h"

namespace tributary {
namespace {

namespace fs = std::filesystem;

std::string Fixture(const std::string& name) {
  return std::string(TRIBUTARY_SOURCE_DIR) + "/testdata/" + name;
}

ExperimentConfig FileRun(const std::string& dataset, const std::string& path) {
  ExperimentConfig c;
  c.data.dataset = dataset;
  c.data.files.path = path;
  c.data.partition = {.scheme = PartitionScheme::kIid, .num_clients = 4};
  c.model.name = "mlp";
  c.model.hidden = 16;
  return c;
}

size_t TotalHeld(const ExperimentData& data) {
  size_t total = 0;
  for (const ClientIndices& p : data.partitions) total += p.size();
  return total;
}

TEST(FileDatasetsTest, NpzWithOwnersHoldsOutASeededTestSplit) {
  ExperimentConfig config = FileRun("npz", Fixture("blobs.npz"));
  config.data.files.test_fraction = 0.2;
  config.data.partition = {.scheme = PartitionScheme::kNatural, .num_clients = 6};
  absl::StatusOr<ExperimentData> data = LoadExperimentData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train->size(), 240u);
  EXPECT_EQ(data->test->size(), 60u);
  EXPECT_EQ(TotalHeld(*data), 240u);
  ASSERT_EQ(data->partitions.size(), 6u);  // six owners (ids 0, 10, ..., 50), one per client
  for (const ClientIndices& p : data->partitions) EXPECT_FALSE(p.empty());
  EXPECT_EQ(data->model.num_classes, 3);
  EXPECT_EQ(data->model.input_width, 4);
  EXPECT_EQ(data->train->tensors().AllInputs().sizes(), (std::vector<int64_t>{240, 4}));
  // Standardized on the training split.
  EXPECT_NEAR(data->train->tensors().AllInputs().mean().item<double>(), 0.0, 1e-4);
  // The same seed holds out the same examples; another seed others.
  absl::StatusOr<ExperimentData> again = LoadExperimentData(config);
  EXPECT_TRUE(torch::equal(again->test->tensors().AllInputs(), data->test->tensors().AllInputs()));
  config.run.seed = 9;
  absl::StatusOr<ExperimentData> other = LoadExperimentData(config);
  EXPECT_FALSE(torch::equal(other->test->tensors().AllInputs(), data->test->tensors().AllInputs()));
}

TEST(FileDatasetsTest, CompressedNpzImagesWithTheirOwnTestSplit) {
  ExperimentConfig config = FileRun("npz", Fixture("blobs_images_compressed.npz"));
  config.data.files.standardize = false;
  absl::StatusOr<ExperimentData> data = LoadExperimentData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train->size(), 300u);
  EXPECT_EQ(data->test->size(), 30u);  // x_test, y_test
  EXPECT_EQ(data->train->tensors().AllInputs().sizes(), (std::vector<int64_t>{300, 1, 6, 6}));
  EXPECT_EQ(data->model.input_height, 6);
  // uint8 values arrive unchanged as floats.
  EXPECT_GE(data->train->tensors().AllInputs().min().item<float>(), 0.0f);
  EXPECT_GT(data->train->tensors().AllInputs().max().item<float>(), 1.0f);
}

TEST(FileDatasetsTest, CsvColumnsByNameAndNaturalPartition) {
  ExperimentConfig config = FileRun("csv", Fixture("blobs.csv"));
  config.data.partition = {.scheme = PartitionScheme::kNatural, .num_clients = 3};
  absl::StatusOr<ExperimentData> data = LoadExperimentData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train->size() + data->test->size(), 300u);
  EXPECT_EQ(data->train->tensors().AllInputs().size(1), 4);  // label and client are not features
  EXPECT_EQ(data->partitions.size(), 3u);
  EXPECT_EQ(TotalHeld(*data), data->train->size());
  // The CSV and the npz hold the same examples (to the CSV's 5 decimals).
  ExperimentConfig npz = FileRun("npz", Fixture("blobs.npz"));
  npz.data.files.standardize = config.data.files.standardize = false;
  absl::StatusOr<ExperimentData> a = LoadExperimentData(config), b = LoadExperimentData(npz);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(
      torch::allclose(a->train->tensors().AllInputs(), b->train->tensors().AllInputs(), 0, 1e-4));
  EXPECT_TRUE(torch::equal(a->train->tensors().targets, b->train->tensors().targets));
}

// Writes ROOT/<class>/<i>.png (grey, width x height) for each class.
void WriteImages(const fs::path& root, const std::vector<std::string>& classes, int per_class,
                 int width, int height) {
  for (size_t c = 0; c < classes.size(); ++c) {
    fs::create_directories(root / classes[c]);
    for (int i = 0; i < per_class; ++i) {
      std::vector<uint8_t> pixels(width * height, static_cast<uint8_t>(40 + 100 * c + i));
      const std::string file = (root / classes[c] / (std::to_string(i) + ".png")).string();
      ASSERT_NE(stbi_write_png(file.c_str(), width, height, 1, pixels.data(), width), 0);
    }
  }
}

class ImageFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("tributary_images_" + std::to_string(getpid()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(ImageFolderTest, ClassesAreSortedFoldersAndTheFirstImageSetsTheChannels) {
  WriteImages(root_ / "train", {"cat", "ant"}, 4, 8, 6);
  WriteImages(root_ / "test", {"cat", "ant"}, 2, 8, 6);
  // A colour JPEG after grey images is read as grey.
  std::vector<uint8_t> rgb(8 * 6 * 3, 200);
  ASSERT_NE(stbi_write_jpg((root_ / "train" / "ant" / "a.jpg").c_str(), 8, 6, 3, rgb.data(), 90),
            0);
  ExperimentConfig config = FileRun("image_folder", (root_ / "train").string());
  config.data.files.test_path = (root_ / "test").string();
  config.data.files.standardize = false;
  absl::StatusOr<ExperimentData> data = LoadExperimentData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train->size(), 9u);
  EXPECT_EQ(data->test->size(), 4u);
  EXPECT_EQ(data->train->tensors().AllInputs().sizes(), (std::vector<int64_t>{9, 1, 6, 8}));
  // ant (sorted first) is class 0; its first image's pixels are 140 / 255.
  EXPECT_EQ(data->train->tensors().targets[0].item<int64_t>(), 0);
  EXPECT_NEAR(data->train->tensors().AllInputs()[0][0][0][0].item<float>(), 140 / 255.0f, 1e-6);
  EXPECT_EQ(data->train->tensors().targets[8].item<int64_t>(), 1);

  // A colour image first: three channels for both splits, grey images replicated into each.
  fs::remove(root_ / "train" / "ant" / "a.jpg");
  ASSERT_NE(stbi_write_jpg((root_ / "train" / "ant" / "!.jpg").c_str(), 8, 6, 3, rgb.data(), 90),
            0);
  data = LoadExperimentData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train->tensors().AllInputs().sizes(), (std::vector<int64_t>{9, 3, 6, 8}));
  EXPECT_NEAR(data->train->tensors().AllInputs()[1][2][0][0].item<float>(), 140 / 255.0f, 1e-6);
  EXPECT_EQ(data->test->tensors().AllInputs().size(1), 3);
}

TEST_F(ImageFolderTest, BadFoldersAreClearErrors) {
  ExperimentConfig config = FileRun("image_folder", (root_ / "train").string());
  config.data.files.test_path = (root_ / "test").string();
  auto error = [&]() {
    absl::StatusOr<ExperimentData> data = LoadExperimentData(config);
    return data.ok() ? std::string("ok") : std::string(data.status().message());
  };
  EXPECT_NE(error().find("is not a folder"), std::string::npos) << error();
  fs::create_directories(root_ / "train");
  EXPECT_NE(error().find("one subfolder per class"), std::string::npos) << error();
  WriteImages(root_ / "train", {"a", "b"}, 2, 4, 4);
  fs::create_directories(root_ / "train" / "c");
  EXPECT_NE(error().find("has no images"), std::string::npos) << error();
  fs::remove_all(root_ / "train" / "c");
  std::ofstream(root_ / "train" / "b" / "broken.png") << "not a png";
  EXPECT_NE(error().find("cannot decode image"), std::string::npos) << error();
  fs::remove(root_ / "train" / "b" / "broken.png");
  WriteImages(root_ / "train", {"b"}, 1, 5, 4);  // overwrites b/0.png at another size
  EXPECT_NE(error().find("is 5x4; the others are 4x4"), std::string::npos) << error();
  WriteImages(root_ / "train", {"b"}, 1, 4, 4);
  WriteImages(root_ / "test", {"a", "z"}, 1, 4, 4);
  EXPECT_NE(error().find("the training split has a, b"), std::string::npos) << error();
}

TEST(FileDatasetsTest, TextJsonlOwnersGiveTheNaturalPartition) {
  ExperimentConfig config = FileRun("text", Fixture("documents.jsonl"));
  config.model.name = "gpt";
  config.model.layers = 1;
  config.model.embed = 16;
  config.model.heads = 2;
  config.model.context = 16;
  config.data.text.vocab_size = 64;
  config.data.text.cache_dir =
      (fs::temp_directory_path() / ("tributary_text_" + std::to_string(getpid()))).string();
  config.data.files.client_column = "author";
  config.data.files.test_fraction = 0.25;  // 3 of 12 documents
  config.data.partition = {.scheme = PartitionScheme::kNatural, .num_clients = 4};
  absl::StatusOr<ExperimentData> data = LoadExperimentData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->partitions.size(), 4u);
  EXPECT_EQ(data->model.num_classes, 64);
  EXPECT_EQ(data->train->tensors().AllInputs().size(1), 16);
  EXPECT_GT(data->test->size(), 0u);
  EXPECT_EQ(TotalHeld(*data), data->train->size());
  config.data.partition.num_clients = 5;  // four authors
  EXPECT_FALSE(LoadExperimentData(config).ok());
  fs::remove_all(config.data.text.cache_dir);
}

TEST(FileDatasetsTest, MalformedFilesAreClearErrors) {
  struct Case {
    std::string dataset, file, expected;
  };
  const std::vector<Case> cases = {
      {"npz", "truncated.npz", "is not a readable .npz (zip) archive"},
      {"npz", "bad_labels.npz", "is not an integer"},
      {"npz", "mismatched.npz", "x has 10 examples but y has 9"},
      {"npz", "missing.npz", "cannot open"},
      {"npz", "blobs.csv", "is not a readable .npz"},
      {"csv", "ragged.csv", "ragged.csv:3: 2 fields, the header has 3"},
      {"csv", "blobs.npz", "the header has no 'label' column"},
      {"text", "blobs.csv", "not a JSON object"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ExperimentData> data = LoadExperimentData(FileRun(c.dataset, Fixture(c.file)));
    ASSERT_FALSE(data.ok()) << c.file;
    EXPECT_NE(data.status().message().find(c.expected), std::string::npos)
        << c.file << ": " << data.status();
  }
}

// Through the binary: the errors above end the run with exit code 2 and a message.
TEST(FileDatasetsTest, CommandLineExitsWithCode2OnMalformedData) {
  const fs::path dir =
      fs::temp_directory_path() / ("tributary_data_cli_" + std::to_string(getpid()));
  fs::create_directories(dir / "empty");
  fs::create_directories(dir / "images" / "a");
  fs::create_directories(dir / "images" / "b");
  std::ofstream(dir / "images" / "a" / "0.png") << "not a png";
  std::ofstream(dir / "images" / "b" / "0.png") << "not a png either";
  const std::string config = (dir / "config.toml").string();
  std::ofstream(config) << "[run]\nrounds = 1\nclients_per_round = 2\n[data]\npartition = "
                           "\"iid\"\nnum_clients = 4\n[model]\nname = \"mlp\"\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"npz", Fixture("truncated.npz")},          {"csv", Fixture("ragged.csv")},
      {"image_folder", (dir / "empty").string()}, {"image_folder", (dir / "images").string()},
      {"text", (dir / "empty").string()},
  };
  for (const auto& [dataset, path] : cases) {
    const CommandResult run = RunShell(
        std::string(TRIBUTARY_BINARY) + " simulate " + config + " --out " + (dir / "out").string() +
        " --overwrite --set data.dataset=" + dataset + " --set data.path=" + path);
    EXPECT_EQ(run.exit_code, 2) << dataset << "\n" << run.output;
    EXPECT_NE(run.output.find("error: "), std::string::npos) << run.output;
  }
  fs::remove_all(dir);
}

// A CSV of three separable blobs is learned far beyond chance (1/3) in three rounds.
TEST(FileDatasetsTest, CsvRunLearns) {
  ExperimentConfig config = FileRun("csv", Fixture("blobs.csv"));
  config.run.rounds = 3;
  config.run.clients_per_round = 4;
  config.train.learning_rate = 0.1;
  config.train.batch_size = 16;
  config.compute.workers = 2;
  auto simulation = Simulation::Create(config);
  ASSERT_TRUE(simulation.ok()) << simulation.status();
  std::optional<double> accuracy;
  ASSERT_TRUE((*simulation)
                  ->Run([&](const RoundMetrics& m) {
                    accuracy = m.test_accuracy;
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(accuracy.has_value());
  EXPECT_GT(*accuracy, 0.9);
}

}  // namespace
}  // namespace tributary
