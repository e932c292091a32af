// DP-FedAvg through the technique's hooks: client clipping and noise shares, the server's clipped
// and noised mean, adaptive clipping, the privacy budget stop, and the config checks.
#include "engine/techniques/differential_privacy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "aggregate/strategy_registry.h"
#include "privacy/rdp_accountant.h"

namespace tributary {
namespace {

double Norm(std::span<const float> v) {
  double s = 0.0;
  for (float x : v) s += double(x) * x;
  return std::sqrt(s);
}

double StddevAround(std::span<const float> v, std::span<const float> center) {
  double s = 0.0;
  for (size_t i = 0; i < v.size(); ++i) s += (double(v[i]) - center[i]) * (v[i] - center[i]);
  return std::sqrt(s / v.size());
}

ExperimentConfig PrivateConfig(PrivacyMode mode, int clients, int per_round) {
  ExperimentConfig config;
  config.run.rounds = 100;
  config.data.partition.num_clients = clients;
  config.run.clients_per_round = per_round;
  config.plugins.Mutable<PrivacySpec>().mode = mode;
  config.plugins.Mutable<PrivacySpec>().noise_multiplier = 2.0;
  config.plugins.Mutable<PrivacySpec>().clip_norm = 0.5;
  config.plugins.Mutable<PrivacySpec>().reproducible_noise = true;
  return config;
}

Payload CountAttachment(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  return Payload{uint8_t(bits), uint8_t(bits >> 8), uint8_t(bits >> 16), uint8_t(bits >> 24)};
}

TEST(DifferentialPrivacyTest, ClippedNormNeverExceedsTheClipNorm) {
  std::mt19937_64 rng(3);
  for (size_t size : {1, 2, 7, 1000, 100000}) {
    for (double scale : {1e-4, 1e-1, 1.0, 1e3}) {
      for (double clip : {1e-3, 0.1, 1.0, 7.5}) {
        std::normal_distribution<float> normal(0.0f, static_cast<float>(scale));
        std::vector<float> v(size);
        for (float& x : v) x = normal(rng);
        const std::vector<float> before = v;
        const double norm = ClipToNorm(v, clip);
        EXPECT_NEAR(norm, Norm(before), 1e-9 * norm);
        EXPECT_LE(Norm(v), clip) << size << " " << scale << " " << clip;
        if (norm <= clip) {
          EXPECT_EQ(v, before);
        } else {
          EXPECT_GT(Norm(v), clip * (1 - 1e-5));
        }
      }
    }
  }
}

TEST(DifferentialPrivacyTest, ServerClipsEveryUpdateAndAddsNoiseOfTheConfiguredStddev) {
  // 50 clients expected (K), 50 arrive, each with the same update of norm 10 > C = 0.5.
  const ExperimentConfig config = PrivateConfig(PrivacyMode::kCentral, 500, 50);
  ASSERT_TRUE(ValidateDifferentialPrivacy(config).ok());
  constexpr int64_t kDim = 200000;
  const ModelState global = *ModelState::Zeros({{"w", {kDim}}});
  std::unique_ptr<Technique> dp = *CreateDifferentialPrivacy(config, global);
  ASSERT_NE(dp, nullptr);
  EXPECT_EQ(dp->ClipNorm(), 0.5);
  std::unique_ptr<Strategy> strategy = dp->WrapStrategy(*CreateStrategy(config.strategy));
  RoundMetrics metrics;
  metrics.round = 1;
  dp->OnRoundStart({}, metrics);
  ASSERT_TRUE(strategy->Init(global, 1000).ok());
  ModelState update = global.ZerosLike();
  std::vector<float> direction(kDim);
  for (int64_t i = 0; i < kDim; ++i) direction[i] = (i % 2 ? 1.0f : -1.0f) / std::sqrt(float(kDim));
  for (int64_t i = 0; i < kDim; ++i) update.flat()[i] = 10.0f * direction[i];
  for (uint32_t c = 0; c < 50; ++c) {
    ASSERT_TRUE(strategy->Accumulate({.client_id = c, .delta = &update, .num_examples = 20}).ok());
  }
  absl::StatusOr<ModelState> next = strategy->Finalize();
  ASSERT_TRUE(next.ok()) << next.status();
  // Mean of the clipped updates: C * direction; noise z C / K = 2 * 0.5 / 50 = 0.02 each.
  std::vector<float> signal(kDim);
  for (int64_t i = 0; i < kDim; ++i) signal[i] = 0.5f * direction[i];
  const double stddev = StddevAround(next->flat(), signal);
  // Standard error of the measured stddev: 0.02 / sqrt(2 * 200000) = 3.2e-5.
  EXPECT_NEAR(stddev, 0.02, 2e-4);
  double mean_noise = 0.0;
  for (int64_t i = 0; i < kDim; ++i) mean_noise += next->flat()[i] - signal[i];
  EXPECT_NEAR(mean_noise / kDim, 0.0, 2e-4);
  dp->OnRoundEnd(true, metrics);
  ASSERT_TRUE(metrics.dp_epsilon.has_value());
  EXPECT_DOUBLE_EQ(*metrics.dp_epsilon, EpsilonFor(0.1, 2.0, 1, 1e-5).epsilon);
  EXPECT_EQ(metrics.dp_clip_norm, 0.5);
}

TEST(DifferentialPrivacyTest, ClientsClipAndInDistributedModeAddTheirShareOfNoise) {
  const ExperimentConfig config = PrivateConfig(PrivacyMode::kDistributed, 4, 4);  // m = 4
  constexpr int64_t kDim = 100000;
  const ModelState global = *ModelState::Zeros({{"w", {kDim}}});
  std::unique_ptr<Technique> dp = *CreateDifferentialPrivacy(config, global);
  ModelState trained = global.ZerosLike();  // a zero update: what remains is the noise
  const ClientTaskInputs task{.round = 3, .clip_norm = 0.5};
  ClientRound round{.client = 1, .run_seed = 0, .task = &task, .trained = &trained};
  round.upload = trained.flat();
  ASSERT_TRUE(dp->AfterTrain(round).ok());
  // z C / sqrt(m) = 2 * 0.5 / 2 = 0.5.
  const std::vector<float> zeros(kDim, 0.0f);
  EXPECT_NEAR(StddevAround(trained.flat(), zeros), 0.5, 0.005);

  // Central mode: only the clipping, on the client.
  const ExperimentConfig central = PrivateConfig(PrivacyMode::kCentral, 4, 4);
  std::unique_ptr<Technique> clip_only = *CreateDifferentialPrivacy(central, global);
  for (float& v : trained.flat()) v = 3.0f;
  round.upload = trained.flat();
  ASSERT_TRUE(clip_only->AfterTrain(round).ok());
  EXPECT_LE(Norm(trained.flat()), 0.5);
  EXPECT_NEAR(trained.flat()[7], 0.5 / std::sqrt(double(kDim)), 1e-6);
  const ClientTaskInputs no_clip{.round = 3};
  round.task = &no_clip;
  EXPECT_FALSE(clip_only->AfterTrain(round).ok()) << "a task without a clip norm";
}

TEST(DifferentialPrivacyTest, DistributedServerRefusesUpdatesNoClippedNoisyUpdateCanBe) {
  const ExperimentConfig config = PrivateConfig(PrivacyMode::kDistributed, 4, 4);
  constexpr int64_t kDim = 10000;
  const ModelState global = *ModelState::Zeros({{"w", {kDim}}});
  std::unique_ptr<Technique> client_side = *CreateDifferentialPrivacy(config, global);
  std::unique_ptr<Technique> dp = *CreateDifferentialPrivacy(config, global);
  std::unique_ptr<Strategy> strategy = dp->WrapStrategy(*CreateStrategy(config.strategy));
  RoundMetrics metrics;
  metrics.round = 1;
  dp->OnRoundStart({}, metrics);
  ASSERT_TRUE(strategy->Init(global, 100).ok());
  // An honest client: a large update clipped to C, plus its noise share (norm about 50 C).
  ModelState trained = global.ZerosLike();
  for (float& v : trained.flat()) v = 1.0f;
  const ClientTaskInputs task{.round = 1, .clip_norm = 0.5};
  ClientRound round{.client = 0, .task = &task, .trained = &trained};
  round.upload = trained.flat();
  ASSERT_TRUE(client_side->AfterTrain(round).ok());
  EXPECT_TRUE(strategy->Accumulate({.client_id = 0, .delta = &trained, .num_examples = 1}).ok());
  // One that skipped the clipping: its norm (100) is beyond C + the share's reach (about 50.5).
  for (float& v : trained.flat()) v = 1.0f;
  const absl::Status refused =
      strategy->Accumulate({.client_id = 1, .delta = &trained, .num_examples = 1});
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("clipped update"), std::string::npos) << refused;
}

TEST(DifferentialPrivacyTest, AdaptiveClippingConvergesToTheTargetQuantile) {
  ExperimentConfig config = PrivateConfig(PrivacyMode::kCentral, 1000, 100);
  config.plugins.Mutable<PrivacySpec>().noise_multiplier = 1.0;
  config.plugins.Mutable<PrivacySpec>().clip_norm = 0.05;  // far below the median norm, 3
  config.plugins.Mutable<PrivacySpec>().adaptive_clipping = true;
  config.plugins.Mutable<PrivacySpec>().target_quantile = 0.5;
  ASSERT_TRUE(ValidateDifferentialPrivacy(config).ok());
  const ModelState global = *ModelState::Zeros({{"w", {4}}});
  std::unique_ptr<Technique> dp = *CreateDifferentialPrivacy(config, global);
  ASSERT_TRUE(dp->reads_attachment());
  std::unique_ptr<Pipeline> fp32 = *Pipeline::Parse("fp32");
  ModelState buffer;
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> norms(std::log(3.0), 0.5);  // median 3
  RoundMetrics metrics;
  for (int r = 1; r <= 300; ++r) {
    metrics.round = r;
    dp->OnRoundStart({}, metrics);
    const double clip = *dp->ClipNorm();
    for (uint32_t c = 0; c < 100; ++c) {
      ClientUpload upload{.report = {.client = c}};
      upload.attachment = CountAttachment(norms(rng) <= clip ? 0.5f : -0.5f);
      ASSERT_TRUE(dp->DecodeAttachment(upload, *fp32, buffer).ok());
      ASSERT_TRUE(dp->OnAccepted(upload, buffer).ok());
    }
    dp->OnRoundEnd(true, metrics);
    EXPECT_EQ(metrics.dp_clip_norm, clip);
  }
  // The fraction of norms below the final C, from the distribution itself.
  const double final_clip = *dp->ClipNorm();
  const double below =
      0.5 * std::erfc(-(std::log(final_clip) - std::log(3.0)) / (0.5 * std::sqrt(2)));
  EXPECT_NEAR(below, 0.5, 0.08) << "C = " << final_clip;

  // Central mode accepts only +-1/2; a count of any other size is refused.
  ClientUpload bad{.report = {.client = 0}};
  bad.attachment = CountAttachment(0.3f);
  EXPECT_FALSE(dp->DecodeAttachment(bad, *fp32, buffer).ok());
  bad.attachment = {1, 2, 3};
  EXPECT_FALSE(dp->DecodeAttachment(bad, *fp32, buffer).ok());
}

TEST(DifferentialPrivacyTest, StopsBeforeTheRoundThatWouldExceedTheTarget) {
  ExperimentConfig config = PrivateConfig(PrivacyMode::kCentral, 1000, 100);
  config.plugins.Mutable<PrivacySpec>().noise_multiplier = 1.0;
  config.plugins.Mutable<PrivacySpec>().target_epsilon = 3.0;
  const ModelState global = *ModelState::Zeros({{"w", {2}}});
  std::unique_ptr<Technique> dp = *CreateDifferentialPrivacy(config, global);
  RoundMetrics metrics;
  int round = 1;
  for (; round < 1000 && !dp->StopBefore(round); ++round) {
    metrics.round = round;
    dp->OnRoundStart({}, metrics);
    dp->OnRoundEnd(true, metrics);
  }
  ASSERT_LT(round, 1000);
  EXPECT_LE(*metrics.dp_epsilon, 3.0);
  EXPECT_GT(EpsilonFor(0.1, 1.0, round, 1e-5).epsilon, 3.0);
  EXPECT_NE(dp->StopBefore(round)->find("target_epsilon"), std::string::npos);
  // The accountant's state is what a checkpoint carries: a fresh technique given it agrees.
  std::unique_ptr<Technique> resumed = *CreateDifferentialPrivacy(config, global);
  *resumed->carried_state()[0] = *dp->carried_state()[0];
  EXPECT_TRUE(resumed->StopBefore(round).has_value());
}

TEST(DifferentialPrivacyTest, ConfigChecks) {
  auto error = [](ExperimentConfig c) {
    absl::Status s = ValidateDifferentialPrivacy(c);
    return s.ok() ? std::string("ok") : std::string(s.message());
  };
  const ExperimentConfig good = PrivateConfig(PrivacyMode::kCentral, 1000, 100);
  EXPECT_EQ(error(good), "ok");
  ExperimentConfig c = good;
  c.plugins.Mutable<PrivacySpec>().noise_multiplier = -1;
  EXPECT_NE(error(c).find("noise_multiplier must be positive"), std::string::npos);
  c = good;
  c.plugins.Mutable<PrivacySpec>().noise_multiplier = 0;
  EXPECT_NE(error(c).find("noise_multiplier must be positive"), std::string::npos);
  c = good;
  c.plugins.Mutable<PrivacySpec>().clip_norm = 0;
  EXPECT_NE(error(c).find("clip_norm must be positive"), std::string::npos);
  for (double delta : {0.0, 1.0, -0.1, 2.0}) {
    c = good;
    c.plugins.Mutable<PrivacySpec>().delta = delta;
    EXPECT_NE(error(c).find("delta must be in (0, 1)"), std::string::npos) << delta;
  }
  c = good;
  c.plugins.Mutable<PrivacySpec>().target_epsilon =
      0.5;  // one round at q 0.1, z 2 already spends more
  EXPECT_NE(error(c).find("already exceeded by round 1"), std::string::npos) << error(c);
  c = good;
  c.run.sampling = ClientSampling::kFixed;
  EXPECT_NE(error(c).find("Poisson"), std::string::npos);
  c = good;
  c.compress.error_feedback = true;
  EXPECT_NE(error(c).find("error_feedback"), std::string::npos);
  c = good;
  c.strategy.name = "krum";
  EXPECT_NE(error(c).find("krum"), std::string::npos);
  c = PrivateConfig(PrivacyMode::kDistributed, 1000, 100);
  c.compress.uplink = "topk:ratio=0.1|zstd";
  EXPECT_NE(error(c).find("lossless"), std::string::npos);
  c.compress.uplink = "fp32|zstd";
  EXPECT_EQ(error(c), "ok");
  c = good;
  c.plugins.Mutable<PrivacySpec>().adaptive_clipping = true;
  c.plugins.Mutable<PrivacySpec>().count_noise_multiplier = 0.5;  // 2 sigma_b = 1 <= z = 2
  EXPECT_NE(error(c).find("2 sigma_b > noise_multiplier"), std::string::npos);
}

}  // namespace
}  // namespace tributary
