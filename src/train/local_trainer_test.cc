// Local training's order of operations: FedProx's proximal term is part of the objective, so
// gradient clipping bounds the gradient of loss + mu/2 |w - w0|^2, not the loss's alone; and the
// learning-rate schedule counts a client's steps across rounds.
#include "train/local_trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace tributary {
namespace {

constexpr int64_t kContext = 8;

// Six windows of random tokens from a 30-token vocabulary.
std::shared_ptr<const TensorDataset> RandomWindows(uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> token(0, 29);
  std::vector<int32_t> tokens(6 * (kContext + 1));
  for (int32_t& t : tokens) t = token(rng);
  return *TensorDataset::FromTokenWindows(tokens, kContext);
}

ModelSpec TinyGpt() {
  ModelSpec spec{.name = "gpt"};
  spec.layers = 1;
  spec.heads = 2;
  spec.embed = 8;
  spec.context = kContext;
  spec.num_classes = 30;
  return spec;
}

TEST(LocalTrainerTest, ClippingBoundsTheGradientWithTheProximalTerm) {
  std::shared_ptr<const TensorDataset> windows = RandomWindows(1);
  const ModelSpec spec = TinyGpt();
  // Plain SGD, so a step moves the model by exactly lr times the clipped gradient; with
  // lr * mu = 10, a proximal term added after clipping would move step 2 ten times further.
  TrainOptions options{.optimizer = OptimizerKind::kSgd, .learning_rate = 0.1};
  options.momentum = 0.0;
  options.batch_size = 6;  // every step sees the whole dataset
  options.steps = 2;
  options.clip_norm = 0.01;
  options.proximal_mu = 100.0;
  auto trainer = *LocalTrainer::Create(spec, options);
  const ModelState start = *InitialModelState(spec, 2);
  ModelState delta = start.ZerosLike();
  const std::vector<uint32_t> all = {0, 1, 2, 3, 4, 5};
  auto result = trainer->Train(start, *windows, all, 3, &delta, nullptr, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  double squares = 0.0;
  for (float v : delta.flat()) squares += double(v) * v;
  // Two steps of at most lr * clip_norm each.
  EXPECT_LE(std::sqrt(squares), 2 * 0.1 * 0.01 * (1 + 1e-4));
  EXPECT_GT(std::sqrt(squares), 0.1 * 0.01 * 0.5) << "the model should have moved";
}

TEST(LocalTrainerTest, LearningRateWarmsUpThenDecaysOnACosineAcrossRounds) {
  std::shared_ptr<const TensorDataset> windows = RandomWindows(2);
  const ModelSpec spec = TinyGpt();
  // Plain SGD with the gradient clipped to norm 0.01 (an untrained model's is far larger): each
  // step moves the model by exactly 0.01 times the step's learning rate.
  TrainOptions options{.optimizer = OptimizerKind::kSgd, .learning_rate = 1.0};
  options.momentum = 0.0;
  options.batch_size = 6;
  options.steps = 1;
  options.clip_norm = 0.01;
  options.warmup_steps = 2;
  options.decay_steps = 4;
  options.min_lr_ratio = 0.2;
  options.keep_optimizer_state = true;
  auto trainer = *LocalTrainer::Create(spec, options);
  ModelState model = *InitialModelState(spec, 2);
  const std::vector<uint32_t> all = {0, 1, 2, 3, 4, 5};
  OptimizerState kept;  // one step per round: the schedule must count the rounds' steps
  const std::vector<double> factors = {0.5, 1.0, 0.6, 0.2, 0.2};
  for (size_t round = 0; round < factors.size(); ++round) {
    ModelState delta = model.ZerosLike();
    auto result = trainer->Train(model, *windows, all, 3, &delta, nullptr, &kept);
    ASSERT_TRUE(result.ok()) << result.status();
    double squares = 0.0;
    for (float v : delta.flat()) squares += double(v) * v;
    EXPECT_NEAR(std::sqrt(squares), 0.01 * factors[round], 1e-6) << "round " << round;
    for (size_t i = 0; i < model.flat().size(); ++i) model.flat()[i] += delta.flat()[i];
  }
  // A decay must end after the warm-up.
  options.decay_steps = 2;
  EXPECT_FALSE(options.Validate().ok());
}

}  // namespace
}  // namespace tributary
