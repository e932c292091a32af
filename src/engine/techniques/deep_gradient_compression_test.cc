// Deep Gradient Compression's options through the technique's hooks and error feedback, on a
// four-coordinate model: each changes what the paper says it changes.
#include "engine/techniques/deep_gradient_compression.h"

#include <gtest/gtest.h>

#include <cmath>

#include "compress/error_feedback.h"

namespace tributary {
namespace {

class DgcClient {
 public:
  explicit DgcClient(DgcOptions options, std::string uplink = "topk:k=1") {
    config_.compress.uplink = uplink;
    config_.compress.error_feedback = true;
    config_.plugins.Mutable<DgcOptions>() = options;
    EXPECT_TRUE(ValidateDgc(config_).ok()) << ValidateDgc(config_);
    model_ = *ModelState::Zeros({{"w", {4}}});
    technique_ = *CreateDgc(config_, model_);
    pipeline_ = *Pipeline::Parse(uplink);
    memory_ = technique_->NewClientState();
  }

  // One round in the client step's order: AfterTrain, encode with error feedback, AfterEncode.
  // Returns what the server decodes, densely.
  std::vector<float> Round(std::vector<float> update) {
    ClientRound round{.memory = memory_.get()};
    round.upload_buffer = std::move(update);
    round.upload = round.upload_buffer;
    round.upload_layout = model_.specs();
    EXPECT_TRUE(technique_->AfterTrain(round).ok());
    ClientUpload upload;
    upload.update = *EncodeWithErrorFeedback(
        *pipeline_, round.upload, CodecContext{.layout = model_.specs(), .state = &codec_});
    EXPECT_TRUE(technique_->AfterEncode(round, *pipeline_, upload).ok());
    Update sent = *pipeline_->Decode(upload.update, 4, model_.specs());
    std::vector<float> dense(4, 0.0f);
    for (size_t j = 0; j < sent.indices.size(); ++j) dense[sent.indices[j]] = sent.values[j];
    return dense;
  }
  const std::vector<float>& residual() const { return codec_.residual; }

 private:
  ExperimentConfig config_;
  ModelState model_;
  std::unique_ptr<Technique> technique_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<TechniqueState> memory_;
  CodecState codec_;
};

// Momentum correction: what was sent plus what is left in the residual adds up to momentum
// SGD's steps u_t = m u_(t-1) + g_t, not to the raw updates.
TEST(DgcTest, MomentumCorrectionAccumulatesMomentumSgdSteps) {
  const float m = 0.5f;
  DgcClient client({.momentum = m, .momentum_masking = false});
  DgcClient plain({.clip_norm = 1e6});  // top-k with error feedback, no momentum
  const std::vector<std::vector<float>> updates = {
      {1.0f, 0.9f, 0.0f, -0.2f}, {0.5f, 0.9f, 0.1f, 0.0f}, {-0.3f, 0.2f, 0.4f, 0.1f}};
  std::vector<float> sent_total(4, 0.0f), plain_total(4, 0.0f), u(4, 0.0f), steps(4, 0.0f);
  for (const auto& g : updates) {
    const std::vector<float> sent = client.Round(g);
    const std::vector<float> plain_sent = plain.Round(g);
    for (size_t i = 0; i < 4; ++i) {
      u[i] = m * u[i] + g[i];
      steps[i] += u[i];
      sent_total[i] += sent[i];
      plain_total[i] += plain_sent[i];
    }
  }
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(sent_total[i] + client.residual()[i], steps[i], 1e-6) << i;
    float raw = 0.0f;
    for (const auto& g : updates) raw += g[i];
    EXPECT_NEAR(plain_total[i] + plain.residual()[i], raw, 1e-6) << i;
  }
  // Round 2's top-1 is coordinate 1: 0.9 left over plus the velocity 0.5 * 0.9 + 0.9.
  DgcClient replay({.momentum = m, .momentum_masking = false});
  replay.Round(updates[0]);
  EXPECT_FLOAT_EQ(replay.Round(updates[1])[1], 0.9f + 0.5f * 0.9f + 0.9f);
}

// Momentum factor masking: where the top-k sent, the velocity restarts, so the next round adds
// only that round's update there (m u + g without masking).
TEST(DgcTest, MomentumMaskingRestartsTheVelocityWhereTheTopKSent) {
  for (bool masking : {true, false}) {
    DgcClient client({.momentum = 0.5, .momentum_masking = masking});
    const std::vector<float> first = client.Round({1.0f, 0.9f, 0.0f, 0.0f});
    ASSERT_EQ(first[0], 1.0f);  // coordinate 0 sent
    const std::vector<float> second = client.Round({1.0f, 0.9f, 0.0f, 0.0f});
    ASSERT_EQ(second[0], 0.0f);  // coordinate 1 (0.9 + 0.45 + 0.9 = 2.25) sent
    EXPECT_FLOAT_EQ(client.residual()[0], masking ? 1.0f : 1.5f) << "masking " << masking;
    EXPECT_FLOAT_EQ(client.residual()[1], 0.0f);
  }
}

// Local clipping: an update above the bound is scaled down to it (same direction) before it
// is accumulated; one below is left alone.
TEST(DgcTest, LocalClippingBoundsTheAccumulatedUpdate) {
  DgcClient client({.clip_norm = 1.0}, "topk:ratio=1");
  std::vector<float> sent = client.Round({3.0f, 4.0f, 0.0f, 0.0f});
  EXPECT_FLOAT_EQ(sent[0], 0.6f);
  EXPECT_FLOAT_EQ(sent[1], 0.8f);
  sent = client.Round({0.3f, -0.4f, 0.0f, 0.0f});
  EXPECT_FLOAT_EQ(sent[0], 0.3f);
  EXPECT_FLOAT_EQ(sent[1], -0.4f);
}

// Sparsity warm-up: the density falls exponentially from the first round's to the target,
// reached at round W + 1 (the paper's 75%, 93.75%, 98.4%, 99.6%, then 99.9% sparsity).
TEST(DgcTest, WarmupDensityFallsExponentiallyToTheTopKRatio) {
  const double target = 0.001;
  const std::vector<double> paper = {0.25, 0.0625, 0.015625, 0.00390625};
  double previous = 1.0;
  for (int round = 1; round <= 4; ++round) {
    const double density = target * DgcWarmupRatioScale(round, 4, 0.25, target);
    EXPECT_NEAR(density, paper[round - 1], 0.02 * paper[round - 1]) << round;
    EXPECT_LT(density, previous);
    previous = density;
  }
  EXPECT_EQ(DgcWarmupRatioScale(5, 4, 0.25, target), 1.0);
  EXPECT_EQ(DgcWarmupRatioScale(1000, 4, 0.25, target), 1.0);
  EXPECT_EQ(DgcWarmupRatioScale(1, 0, 0.25, target), 1.0);
  EXPECT_EQ(DgcWarmupRatioScale(1, 4, 0.25, 0.5), 1.0) << "never sparser than the target";

  // Through the technique: it multiplies the scales other techniques set (bandwidth).
  ExperimentConfig config;
  config.compress.uplink = "topk:ratio=0.01";
  config.plugins.Mutable<DgcOptions>() = {.warmup_rounds = 2};
  std::unique_ptr<Technique> dgc = *CreateDgc(config, *ModelState::Zeros({{"w", {4}}}));
  std::vector<double> scales = {1.0, 2.0};
  dgc->ScaleRatios(1, std::vector<double>{0.0, 0.0}, scales);
  EXPECT_DOUBLE_EQ(scales[0], 25.0);
  EXPECT_DOUBLE_EQ(scales[1], 50.0);
}

TEST(DgcTest, ConfigErrorsAreClear) {
  ExperimentConfig config;
  config.compress.uplink = "qsgd:bits=4";
  config.compress.error_feedback = true;
  config.plugins.Mutable<DgcOptions>().momentum = 0.9;
  EXPECT_NE(ValidateDgc(config).message().find("top-k uplink"), std::string::npos);
  config.compress.uplink = "topk:ratio=0.01|qsgd:bits=4";
  EXPECT_TRUE(ValidateDgc(config).ok()) << ValidateDgc(config);
  config.compress.error_feedback = false;
  EXPECT_NE(ValidateDgc(config).message().find("error_feedback"), std::string::npos);
  config.compress.error_feedback = true;
  config.plugins.Mutable<DgcOptions>().momentum = 1.0;
  EXPECT_FALSE(ValidateDgc(config).ok());
  config.plugins.Mutable<DgcOptions>() = {.clip_norm = -1.0};
  EXPECT_FALSE(ValidateDgc(config).ok());
  config.plugins.Mutable<DgcOptions>() = {.warmup_rounds = 3, .warmup_density = 0.0};
  EXPECT_FALSE(ValidateDgc(config).ok());
  config.compress.uplink = "topk:k=10";
  config.plugins.Mutable<DgcOptions>() = {.warmup_rounds = 3};
  EXPECT_NE(ValidateDgc(config).message().find("topk:ratio="), std::string::npos);
  config.plugins.Mutable<DgcOptions>() = {};
  EXPECT_TRUE(ValidateDgc(config).ok()) << "all off";
}

}  // namespace
}  // namespace tributary
