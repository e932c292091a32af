// Kept optimizer state: two rounds of k AdamW steps with the state carried over train like one
// run of 2k steps; without it, the second round restarts Adam's moments.
#include <gtest/gtest.h>

#include <random>

#include "train/local_trainer.h"

namespace tributary {
namespace {

constexpr int64_t kContext = 8;

std::shared_ptr<const TensorDataset> Windows() {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> token(0, 29);
  std::vector<int32_t> tokens(6 * (kContext + 1));
  for (int32_t& t : tokens) t = token(rng);
  return *TensorDataset::FromTokenWindows(tokens, kContext);
}

ModelSpec Spec() {
  ModelSpec spec;
  spec.name = "gpt";
  spec.layers = 1;
  spec.heads = 2;
  spec.embed = 8;
  spec.context = kContext;
  spec.num_classes = 30;
  return spec;
}

// Trains `steps` full-batch AdamW steps from `start`; returns the trained model.
ModelState TrainFrom(const ModelState& start, int steps, OptimizerState* state) {
  TrainOptions options{.optimizer = OptimizerKind::kAdamW, .learning_rate = 1e-2};
  options.batch_size = 6;  // the whole dataset: every step sees the same batch
  options.steps = steps;
  auto trainer = *LocalTrainer::Create(Spec(), options);
  const std::vector<uint32_t> all = {0, 1, 2, 3, 4, 5};
  ModelState delta = start.ZerosLike();
  auto result = trainer->Train(start, *Windows(), all, 3, &delta, nullptr, state);
  EXPECT_TRUE(result.ok()) << result.status();
  ModelState trained = start;
  for (size_t i = 0; i < trained.flat().size(); ++i) trained.flat()[i] += delta.flat()[i];
  return trained;
}

double MaxGap(const ModelState& a, const ModelState& b) {
  double gap = 0.0;
  for (size_t i = 0; i < a.flat().size(); ++i) {
    gap = std::max(gap, std::abs(double(a.flat()[i]) - b.flat()[i]));
  }
  return gap;
}

TEST(OptimizerStateTest, KeptStateContinuesTraining) {
  const ModelState start = *InitialModelState(Spec(), 2);
  OptimizerState whole;
  const ModelState straight = TrainFrom(start, 6, &whole);
  EXPECT_EQ(whole.step, 6);

  OptimizerState kept;
  const ModelState halfway = TrainFrom(start, 3, &kept);
  EXPECT_EQ(kept.step, 3);
  EXPECT_EQ(kept.first.size(), start.flat().size());
  const ModelState resumed = TrainFrom(halfway, 3, &kept);
  EXPECT_LT(MaxGap(resumed, straight), 1e-5);

  const ModelState restarted = TrainFrom(halfway, 3, nullptr);
  EXPECT_GT(MaxGap(restarted, straight), 1e-3) << "a fresh Adam takes other steps";
}

TEST(OptimizerStateTest, StateOfAnotherModelIsRefused) {
  OptimizerState wrong{.step = 2, .first = std::vector<float>(5), .second = std::vector<float>(5)};
  const ModelState start = *InitialModelState(Spec(), 2);
  TrainOptions options{.optimizer = OptimizerKind::kAdamW};
  options.steps = 1;
  auto trainer = *LocalTrainer::Create(Spec(), options);
  ModelState delta = start.ZerosLike();
  const std::vector<uint32_t> all = {0, 1};
  EXPECT_FALSE(trainer->Train(start, *Windows(), all, 3, &delta, nullptr, &wrong).ok());
}

}  // namespace
}  // namespace tributary
