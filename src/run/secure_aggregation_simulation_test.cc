// Secure aggregation in simulated rounds: the model it gives against plain aggregation, dropouts
// between its stages, abandoned rounds, its byte accounting, and the configs it refuses.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/secure_aggregation.h"
#include "privacy/privacy_spec.h"
#include "run/simulation.h"

namespace tributary {
namespace {

ExperimentConfig SecureRun() {
  ExperimentConfig c;
  c.run.name = "secure";
  c.run.seed = 5;
  c.run.rounds = 1;
  c.run.clients_per_round = 10;
  c.data.max_train_examples = 4000;
  c.data.max_test_examples = 1000;
  c.data.partition = {.scheme = PartitionScheme::kIid, .num_clients = 20};
  c.model.name = "mlp";
  c.model.hidden = 32;
  c.train.learning_rate = 0.05;
  c.train.batch_size = 32;
  c.train.epochs = 1;
  c.strategy.weighting = Weighting::kUniform;
  c.compute.workers = 2;
  c.compute.threads_per_worker = 1;
  SecAggSpec& secagg = c.plugins.Mutable<SecAggSpec>();
  secagg.enabled = true;
  secagg.bits = 24;  // 24 + log2(10) <= 32
  secagg.clip_range = 1.0;
  return c;
}

struct RunResult {
  std::vector<RoundMetrics> rounds;
  std::vector<float> model;
  uint64_t checksum = 0;
};

RunResult RunAll(const ExperimentConfig& config) {
  RunResult out;
  auto simulation = Simulation::Create(config);
  EXPECT_TRUE(simulation.ok()) << simulation.status();
  if (!simulation.ok()) return out;
  absl::Status status = (*simulation)->Run([&](const RoundMetrics& m) {
    out.rounds.push_back(m);
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  const ModelState& model = (*simulation)->global_model();
  out.model.assign(model.flat().begin(), model.flat().end());
  out.checksum = model.Checksum();
  return out;
}

TEST(SecureAggregationSimulationTest, GivesPlainUniformFedAvgUpToTheQuantizationStep) {
  const ExperimentConfig secure = SecureRun();
  ExperimentConfig plain = secure;
  plain.plugins.Mutable<SecAggSpec>().enabled = false;
  const RunResult a = RunAll(secure);
  const RunResult b = RunAll(plain);
  ASSERT_EQ(a.model.size(), b.model.size());
  // Each client's value is rounded to a multiple of step = 2 / (2^24 - 1); the mean of ten is
  // within one step of the plain mean.
  const double step = 2.0 / ((1 << 24) - 1);
  double worst = 0.0;
  for (size_t i = 0; i < a.model.size(); ++i) {
    worst = std::max(worst, static_cast<double>(std::fabs(a.model[i] - b.model[i])));
  }
  EXPECT_LE(worst, step + 1e-7) << "step " << step;
  EXPECT_GT(worst, 0.0) << "the secure run should carry some rounding";
  ASSERT_EQ(a.rounds.size(), 1u);
  const RoundMetrics& m = a.rounds[0];
  ASSERT_TRUE(m.secagg.has_value());
  EXPECT_FALSE(m.secagg->abandoned);
  EXPECT_EQ(m.secagg->clients_summed, 10);
  EXPECT_EQ(m.clients, 10);
  // Masked input: 4-byte sender, a 3-byte varint count, 4 bytes a coordinate.
  const int64_t coordinates = static_cast<int64_t>(a.model.size());
  EXPECT_EQ(m.secagg->bytes_up[2], 10 * (4 + 3 + 4 * coordinates));
  int64_t protocol_up = 0;
  for (int64_t bytes : m.secagg->bytes_up) protocol_up += bytes;
  EXPECT_EQ(m.bytes_up, protocol_up);
  EXPECT_EQ(m.bytes_down - b.rounds[0].bytes_down,
            m.secagg->bytes_down[0] + m.secagg->bytes_down[1] + m.secagg->bytes_down[2]);
  EXPECT_GT(m.secagg->server_seconds, 0.0);
  EXPECT_GT(m.secagg->client_seconds, 0.0);
}

TEST(SecureAggregationSimulationTest, TheSameSeedGivesTheSameModelThoughTheMasksAreFresh) {
  ExperimentConfig config = SecureRun();
  config.run.rounds = 2;
  EXPECT_EQ(RunAll(config).checksum, RunAll(config).checksum);
}

TEST(SecureAggregationSimulationTest, DropoutsBetweenStagesLeaveTheRoundsComplete) {
  ExperimentConfig config = SecureRun();
  config.run.rounds = 3;
  config.run.clients_per_round = 20;
  config.data.partition.num_clients = 40;
  config.plugins.Mutable<SecAggSpec>().stage_dropout = 0.1;
  const RunResult run = RunAll(config);
  ASSERT_EQ(run.rounds.size(), 3u);
  int dropped = 0;
  for (const RoundMetrics& m : run.rounds) {
    ASSERT_TRUE(m.secagg.has_value());
    EXPECT_FALSE(m.secagg->abandoned) << m.round;
    EXPECT_EQ(m.secagg->clients_summed, m.clients);
    EXPECT_EQ(m.clients + m.clients_dropped, 20) << m.round;
    dropped += m.clients_dropped;
  }
  EXPECT_GT(dropped, 0);
  ASSERT_TRUE(run.rounds.back().test_accuracy.has_value());
  EXPECT_GT(*run.rounds.back().test_accuracy, 0.5) << "chance is 0.10";
}

TEST(SecureAggregationSimulationTest, TooManyDropoutsAbandonTheRoundAndLeaveTheModel) {
  ExperimentConfig config = SecureRun();
  config.plugins.Mutable<SecAggSpec>().stage_dropout = 0.6;
  const RunResult run = RunAll(config);
  ExperimentConfig untouched = config;
  untouched.run.rounds = 1;
  auto fresh = Simulation::Create(untouched);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(run.checksum, (*fresh)->global_model().Checksum());
  ASSERT_EQ(run.rounds.size(), 1u);
  ASSERT_TRUE(run.rounds[0].secagg.has_value());
  EXPECT_TRUE(run.rounds[0].secagg->abandoned);
  EXPECT_EQ(run.rounds[0].clients, 0);
}

TEST(SecureAggregationSimulationTest, ConfigsItCannotServeAreRefusedWithTheReason) {
  auto refused = [](const ExperimentConfig& config, const std::string& words) {
    absl::Status status = config.Validate();
    if (status.ok()) status = Simulation::Create(config).status();
    ASSERT_FALSE(status.ok()) << words;
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
    EXPECT_NE(status.message().find(words), std::string::npos) << status;
  };
  ExperimentConfig c = SecureRun();
  c.compress.uplink = "topk:ratio=0.1";
  refused(c, "cannot go under the masks");
  c = SecureRun();
  c.plugins.Mutable<SecAggSpec>().threshold = 12;  // a cohort of 10 has 9 neighbours each
  refused(c, "secagg.threshold");
  c = SecureRun();
  c.plugins.Mutable<SecAggSpec>().threshold = 4;  // not above half of 9
  refused(c, "must exceed half");
  c = SecureRun();
  c.plugins.Mutable<SecAggSpec>().bits = 30;  // 30 + log2(10) > 32
  refused(c, "wrap");
  c = SecureRun();
  c.strategy.weighting = Weighting::kExamples;
  refused(c, "strategy.weighting");
  c = SecureRun();
  c.strategy.name = "median";
  refused(c, "sees only their sum");
  c = SecureRun();
  c.strategy.name = "scaffold";
  refused(c, "scaffold");
  c = SecureRun();
  c.run.sampling = ClientSampling::kPoisson;
  c.plugins.Mutable<PrivacySpec>().mode = PrivacyMode::kDistributed;
  c.plugins.Mutable<PrivacySpec>().noise_multiplier = 0.5;
  c.plugins.Mutable<PrivacySpec>().clip_norm = 1.0;
  refused(c, "secagg with [privacy]: not yet");
}

}  // namespace
}  // namespace tributary
