// The gradient noise scale: the estimator recovers |G|^2 and tr(Sigma) from exact expectations,
// and measured on a tiny GPT it agrees with the noise scale computed from every per-example
// gradient.
#include "train/gradient_noise_scale.h"

#include <gtest/gtest.h>

#include <random>

#include "train/local_trainer.h"

namespace tributary {
namespace {

TEST(GradientNoiseScaleTest, RecoversTheTermsFromExpectedNorms) {
  const int64_t n = 1000;
  const double gradient = 4.0, trace = 100.0;
  auto expected = [&](int64_t b) { return gradient + trace * (n - b) / ((n - 1.0) * b); };
  const NoiseScaleEstimate e = NoiseScaleFromNorms(n, 8, expected(8), 256, expected(256));
  EXPECT_NEAR(e.gradient_norm_sq, gradient, 1e-9);
  EXPECT_NEAR(e.noise_trace, trace, 1e-9);
  EXPECT_NEAR(e.simple_noise_scale, 25.0, 1e-9);
  // The whole population as the big batch has no noise at all.
  EXPECT_NEAR(NoiseScaleFromNorms(n, 8, expected(8), n, gradient).noise_trace, trace, 1e-9);
}

TEST(GradientNoiseScaleTest, MatchesThePerExampleGradientsOfATinyModel) {
  constexpr int64_t kContext = 8;
  std::mt19937 rng(3);
  std::uniform_int_distribution<int32_t> token(0, 29);
  std::vector<int32_t> tokens(48 * (kContext + 1));
  for (int32_t& t : tokens) t = token(rng);
  auto windows = *TensorDataset::FromTokenWindows(tokens, kContext);
  ModelSpec spec{.name = "gpt"};
  spec.layers = 1;
  spec.heads = 2;
  spec.embed = 8;
  spec.context = kContext;
  spec.num_classes = 30;
  const ModelState model = *InitialModelState(spec, 4);
  std::vector<uint32_t> all(windows->size());
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;

  // Every example's gradient: one SGD step of learning rate 1 on it alone.
  TrainOptions one{.optimizer = OptimizerKind::kSgd, .learning_rate = 1.0};
  one.momentum = 0.0;
  one.batch_size = 1;
  one.steps = 1;
  auto trainer = *LocalTrainer::Create(spec, one);
  const size_t d = model.flat().size();
  std::vector<std::vector<double>> gradients;
  std::vector<double> mean(d, 0.0);
  ModelState delta = model.ZerosLike();
  for (uint32_t i : all) {
    const uint32_t only[] = {i};
    ASSERT_TRUE(trainer->Train(model, *windows, only, 1, &delta).ok());
    gradients.emplace_back(delta.flat().begin(), delta.flat().end());
    for (size_t k = 0; k < d; ++k) mean[k] += gradients.back()[k] / all.size();
  }
  double gradient_sq = 0.0, trace = 0.0;
  for (size_t k = 0; k < d; ++k) gradient_sq += mean[k] * mean[k];
  for (const auto& g : gradients) {
    for (size_t k = 0; k < d; ++k) trace += (g[k] - mean[k]) * (g[k] - mean[k]) / all.size();
  }

  auto measured = MeasureNoiseScale(spec, model, *windows, all, 2, 24, 400, 7);
  ASSERT_TRUE(measured.ok()) << measured.status();
  EXPECT_EQ(measured->draws, 400);
  EXPECT_NEAR(measured->noise_trace, trace, 0.15 * trace);
  EXPECT_NEAR(measured->simple_noise_scale, trace / gradient_sq, 0.25 * trace / gradient_sq);
  EXPECT_FALSE(MeasureNoiseScale(spec, model, *windows, all, 24, 24, 4, 7).ok());
  EXPECT_FALSE(MeasureNoiseScale(spec, model, *windows, all, 2, 49, 4, 7).ok());
}

}  // namespace
}  // namespace tributary
