// TorchScript models (model.name = torchscript) on the fixtures of testdata/, written by
// testdata/make_torchscript_fixtures.py.
#include "model/torchscript_network.h"

#include <gtest/gtest.h>
#include <torch/nn/functional/loss.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "model/network.h"
#include "train/local_trainer.h"
#include "train/tensor_dataset_tensors.h"

namespace tributary {
namespace {

std::string Fixture(const std::string& name) {
  return std::string(TRIBUTARY_SOURCE_DIR) + "/testdata/" + name;
}

ModelSpec Scripted(const std::string& file) {
  ModelSpec spec;
  spec.name = "torchscript";
  spec.path = Fixture(file);
  return spec;
}

// 64 random 28x28 images with labels in [0, 10).
std::shared_ptr<const TensorDataset> RandomImages() {
  LabeledImages images;
  images.rows = images.cols = 28;
  images.num_classes = 10;
  for (int i = 0; i < 64; ++i) {
    images.labels.push_back(i % 10);
    for (int p = 0; p < 28 * 28; ++p) images.pixels.push_back((i * 31 + p * 7) % 256);
  }
  return *TensorDataset::FromImages(images, TensorDataset::ComputeNormalization(images));
}

TEST(TorchScriptNetworkTest, StateIsTrainedParametersThenFloatBuffers) {
  absl::StatusOr<std::unique_ptr<Network>> network = Network::Create(Scripted("mlp_batchnorm.pt"));
  ASSERT_TRUE(network.ok()) << network.status();
  std::vector<std::string> names;
  for (const TensorSpec& spec : (*network)->layout()) names.push_back(spec.name);
  // bn.num_batches_tracked (int64) is not part of the state.
  EXPECT_EQ(names, (std::vector<std::string>{"fc1.weight", "fc1.bias", "bn.weight", "bn.bias",
                                             "fc2.weight", "fc2.bias", "bn.running_mean",
                                             "bn.running_var"}));
  EXPECT_EQ((*network)->Parameters().size(), 6u);
  EXPECT_EQ(*ModelBufferNames(Scripted("mlp_batchnorm.pt")),
            (std::vector<std::string>{"bn.running_mean", "bn.running_var"}));
}

TEST(TorchScriptNetworkTest, InitialStateIsTheSavedModuleWhateverTheSeed) {
  absl::StatusOr<ModelState> a = InitialModelState(Scripted("mlp_batchnorm.pt"), 1);
  absl::StatusOr<ModelState> b = InitialModelState(Scripted("mlp_batchnorm.pt"), 2);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->Checksum(), b->Checksum());
  // Saved batch-norm statistics: mean 0, variance 1.
  const size_t mean = a->specs().size() - 2;
  EXPECT_EQ(a->tensor(mean)[0], 0.0f);
  EXPECT_EQ(a->tensor(mean + 1)[0], 1.0f);
}

TEST(TorchScriptNetworkTest, TrainingMovesParametersAndBatchNormStatistics) {
  const ModelSpec spec = Scripted("mlp_batchnorm.pt");
  auto data = RandomImages();
  ASSERT_TRUE(CheckModelFitsData(spec, *data).ok());
  TrainOptions options;
  options.batch_size = 16;
  auto trainer = *LocalTrainer::Create(spec, options);
  ModelState global = *InitialModelState(spec, 0);
  ModelState delta = global.ZerosLike();
  std::vector<uint32_t> indices(64);
  for (uint32_t i = 0; i < 64; ++i) indices[i] = i;
  absl::StatusOr<LocalTrainResult> result = trainer->Train(global, *data, indices, 5, &delta);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->steps, 4);
  auto moved = [&](size_t t) {
    for (float v : delta.tensor(t)) {
      if (v != 0.0f) return true;
    }
    return false;
  };
  EXPECT_TRUE(moved(0));                         // fc1.weight
  EXPECT_TRUE(moved(delta.specs().size() - 2));  // bn.running_mean
  // The same start and seed give the same delta: the int64 counter does not carry over.
  ModelState again = global.ZerosLike();
  ASSERT_TRUE(trainer->Train(global, *data, indices, 5, &again).ok());
  EXPECT_EQ(again.Checksum(), delta.Checksum());
}

TEST(TorchScriptNetworkTest, ModuleLossIsUsedForTrainingAndEvaluation) {
  const ModelSpec spec = Scripted("mlp_own_loss.pt");
  auto data = RandomImages();
  ASSERT_TRUE(CheckModelFitsData(spec, *data).ok());
  auto trainer = *LocalTrainer::Create(spec, TrainOptions{});
  ModelState model = *InitialModelState(spec, 0);
  absl::StatusOr<EvalResult> eval = trainer->Evaluate(model, *data, 0, data->size());
  ASSERT_TRUE(eval.ok()) << eval.status();
  // The module's loss adds an L2 penalty on fc2's weight to the cross-entropy.
  auto network = *Network::Create(spec);
  network->LoadState(model);
  torch::NoGradGuard no_grad;
  const torch::Tensor logits = network->Forward(data->tensors().AllInputs());
  const double plain =
      torch::nn::functional::cross_entropy(logits, data->tensors().targets).item<double>();
  const double penalty = network->Parameters()[2].pow(2).sum().item<double>();
  EXPECT_NEAR(eval->mean_loss(), plain + penalty, 1e-4);
  EXPECT_GT(penalty, 0.01);
}

TEST(TorchScriptNetworkTest, ModelThatDoesNotFitTheDataIsRefusedNamingTheShapes) {
  absl::Status status = CheckModelFitsData(Scripted("mlp_wrong_inputs.pt"), *RandomImages());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("[2, 1, 28, 28]"), std::string::npos) << status;
  // Right inputs, wrong class count.
  ModelSpec spec = Scripted("mlp_batchnorm.pt");
  spec.num_classes = 7;
  status = CheckModelFitsData(spec, *RandomImages());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("[batch, 7]"), std::string::npos) << status;
}

TEST(TorchScriptNetworkTest, BadFilesAreClearErrors) {
  absl::StatusOr<std::unique_ptr<Network>> network = Network::Create(Scripted("no_forward.pt"));
  ASSERT_FALSE(network.ok());
  EXPECT_NE(network.status().message().find("no forward method"), std::string::npos)
      << network.status();

  network = Network::Create(Scripted("missing.pt"));
  ASSERT_FALSE(network.ok());
  EXPECT_NE(network.status().message().find("is not a file"), std::string::npos);

  const std::string garbage =
      (std::filesystem::temp_directory_path() / "tributary_not_a_module.pt").string();
  std::ofstream(garbage) << "PK this is not a zip archive";
  ModelSpec spec = Scripted("x");
  spec.path = garbage;
  network = Network::Create(spec);
  ASSERT_FALSE(network.ok());
  EXPECT_EQ(network.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(network.status().message().find("not a TorchScript module"), std::string::npos);
  std::filesystem::remove(garbage);

  spec = Scripted("mlp_batchnorm.pt");
  spec.path.clear();
  EXPECT_FALSE(ValidateModelSpec(spec).ok());
  spec = Scripted("mlp_batchnorm.pt");
  spec.buffers = "shared";
  EXPECT_FALSE(ValidateModelSpec(spec).ok());
  spec.buffers = "local";
  spec.width = 0.5;
  EXPECT_FALSE(ValidateModelSpec(spec).ok());
}

}  // namespace
}  // namespace tributary
