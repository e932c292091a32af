// Zeroth-order training in a seeded subspace (model.seed_pool, train.optimizer = zo_sgd): the
// directions are standard normals fixed by their seed, the weights a pure function of the
// coefficients, every party computes the same scalar for the same seed, and an update's
// (seed, scalar) pairs rebuild the weights the client trained to.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "model/seed_subspace.h"
#include "train/local_trainer.h"

namespace tributary {
namespace {

constexpr int64_t kContext = 8;

TEST(SeedSubspaceTest, DirectionsAreStandardNormalsFixedByTheirSeed) {
  std::vector<float> z(200001);  // odd: the last pair's second value is dropped
  FillStandardNormal(7, z);
  double sum = 0, squares = 0, fourth = 0;
  int beyond_two = 0;
  for (float v : z) {
    ASSERT_TRUE(std::isfinite(v));
    sum += v;
    squares += double(v) * v;
    fourth += double(v) * v * v * v;
    beyond_two += std::abs(v) > 2.0f;
  }
  const double n = z.size();
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(squares / n, 1.0, 0.015);
  EXPECT_NEAR(fourth / n, 3.0, 0.1);           // a normal's kurtosis
  EXPECT_NEAR(beyond_two / n, 0.0455, 0.003);  // P(|z| > 2)
  std::vector<float> again(z.size()), other(z.size());
  FillStandardNormal(7, again);
  FillStandardNormal(8, other);
  EXPECT_EQ(z, again);
  EXPECT_NE(z, other);
}

TEST(SeedSubspaceTest, WeightsAreTheBasePlusTheCoefficientsTimesTheDirections) {
  auto base = std::make_shared<ModelState>(
      *ModelState::Zeros({{"a", {3, 7000}}, {"b", {5}}}));  // spans three chunks
  for (size_t i = 0; i < base->flat().size(); ++i) base->flat()[i] = 0.001f * (i % 97);
  const SeedSubspace space(base, 16, 3);
  std::vector<float> c(16, 0.0f);
  c[2] = 0.5f;
  c[9] = -0.25f;
  c[15] = 1e-3f;
  std::vector<float> one(space.dimension()), three(space.dimension());
  space.Materialize(c, one, 1);
  space.Materialize(c, three, 3);
  EXPECT_EQ(one, three) << "the thread count must not change a bit";
  std::vector<double> expected(base->flat().begin(), base->flat().end());
  std::vector<float> z(space.dimension());
  for (uint32_t j : {2u, 9u, 15u}) {
    space.Direction(j, z);
    for (size_t i = 0; i < z.size(); ++i) expected[i] += double(c[j]) * z[i];
  }
  for (size_t i = 0; i < z.size(); ++i) ASSERT_NEAR(one[i], expected[i], 1e-5) << i;
  EXPECT_EQ(*space.Weights(c), one);
  // Another party's subspace over the same base, pool and seed draws the same bits.
  const SeedSubspace elsewhere(std::make_shared<ModelState>(*base), 16, 3);
  EXPECT_EQ(*elsewhere.Weights(c), one);
  const SeedSubspace other_pool(base, 16, 4);
  EXPECT_NE(*other_pool.Weights(c), one);
}

class ZerothOrderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937 rng(1);
    std::uniform_int_distribution<int32_t> token(0, 29);
    std::vector<int32_t> tokens(40 * (kContext + 1));
    for (int32_t& t : tokens) t = token(rng);
    windows_ = *TensorDataset::FromTokenWindows(tokens, kContext);
    spec_.name = "gpt";
    spec_.layers = 1;
    spec_.heads = 2;
    spec_.embed = 8;
    spec_.context = kContext;
    spec_.num_classes = 30;
    std::filesystem::create_directories(dir_);
    spec_.base = (dir_ / "base.pt").string();
    ASSERT_TRUE(SaveModelState(*InitialModelState(spec_, 2), spec_.base).ok());
    spec_.seed_pool = 64;
    options_.optimizer = OptimizerKind::kZerothOrder;
    options_.learning_rate = 0.02;
    options_.momentum = 0.0;
    options_.batch_size = 8;
    options_.steps = 30;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_ =
      std::filesystem::temp_directory_path() / ("tributary_zo_" + std::to_string(getpid()));
  std::shared_ptr<const TensorDataset> windows_;
  ModelSpec spec_;
  TrainOptions options_;
};

TEST_F(ZerothOrderTest, EveryPartyComputesTheSameScalarForTheSameSeed) {
  auto one = *LocalTrainer::Create(spec_, options_);
  auto two = *LocalTrainer::Create(spec_, options_);
  ModelState c = *InitialModelState(spec_, 9);
  ASSERT_EQ(c.flat().size(), 64u);
  c.flat()[5] = 0.3f;
  const std::vector<uint32_t> batch = {0, 3, 6, 9, 12, 15, 18, 21};
  const double g = *one->DirectionalDerivative(c, *windows_, batch, 11);
  EXPECT_NE(g, 0.0);
  EXPECT_EQ(*two->DirectionalDerivative(c, *windows_, batch, 11), g);
  EXPECT_NE(*two->DirectionalDerivative(c, *windows_, batch, 12), g);
  // A forward pass in between leaves the trainer's weights where they were.
  EXPECT_EQ(*one->DirectionalDerivative(c, *windows_, batch, 11), g);
  EXPECT_FALSE(one->DirectionalDerivative(c, *windows_, batch, 64).ok());
}

TEST_F(ZerothOrderTest, TheSeedScalarsRebuildTheTrainedWeightsAndLowerTheLoss) {
  auto client = *LocalTrainer::Create(spec_, options_);
  const ModelState start = *InitialModelState(spec_, 9);
  ModelState update = start.ZerosLike();
  std::vector<uint32_t> all(windows_->size());
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  auto result = client->Train(start, *windows_, all, 4, &update, nullptr, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->steps, 30);
  int sent = 0;
  for (float v : update.flat()) sent += v != 0.0f;
  EXPECT_GT(sent, 10);
  EXPECT_LE(sent, 30) << "one pair per step at most";

  // Another party applies the pairs to the same start and materializes the weights: what the
  // client's steps moved is there (the loss below falls), and so is nothing else.
  ModelState after = start;
  for (size_t j = 0; j < after.flat().size(); ++j) after.flat()[j] += update.flat()[j];

  // Two parties holding the coefficients evaluate the same weights, bit for bit.
  auto server = *LocalTrainer::Create(spec_, options_);
  const EvalResult before = *server->Evaluate(start, *windows_, 0, windows_->size());
  const EvalResult trained = *server->Evaluate(after, *windows_, 0, windows_->size());
  EXPECT_EQ(client->Evaluate(after, *windows_, 0, windows_->size())->loss_sum, trained.loss_sum);
  EXPECT_LT(trained.mean_loss(), before.mean_loss()) << "30 zeroth-order steps on the data";
}

TEST_F(ZerothOrderTest, MisconfigurationsAreRefused) {
  TrainOptions sgd = options_;
  sgd.optimizer = OptimizerKind::kSgd;
  auto trainer = *LocalTrainer::Create(spec_, sgd);
  ModelState start = *InitialModelState(spec_, 9);
  ModelState update = start.ZerosLike();
  std::vector<uint32_t> all = {0, 1, 2};
  // A seeded-subspace model has no gradient to its coefficients: SGD would not move them.
  auto plain = trainer->Train(start, *windows_, all, 4, &update, nullptr, nullptr);
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("zo_sgd"), std::string::npos) << plain.status();
  TrainOptions kept = options_;
  kept.keep_optimizer_state = true;
  EXPECT_FALSE(kept.Validate().ok());
  TrainOptions clipped = options_;
  clipped.clip_norm = 1.0;
  EXPECT_FALSE(clipped.Validate().ok());
  TrainOptions no_eps = options_;
  no_eps.zo_eps = 0.0;
  EXPECT_FALSE(no_eps.Validate().ok());
  ModelSpec without_base = spec_;
  without_base.base.clear();
  EXPECT_FALSE(ValidateModelSpec(without_base).ok());
  ModelSpec with_lora = spec_;
  with_lora.lora_rank = 2;
  EXPECT_FALSE(ValidateModelSpec(with_lora).ok());
  ModelSpec wrong_base = spec_;
  wrong_base.embed = 16;  // the file holds an 8-wide model
  wrong_base.heads = 2;
  auto mismatched = LocalTrainer::Create(wrong_base, options_);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.status().message().find("does not hold this model's parameters"),
            std::string::npos)
      << mismatched.status();
}

}  // namespace
}  // namespace tributary
