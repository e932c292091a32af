// Secure aggregation in simulated rounds: the model it gives against plain aggregation, dropouts
// between its stages, abandoned rounds, its byte accounting, and the configs it refuses.
#include <gtest/gtest.h>

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
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

// Distributed differential privacy under the masks: Poisson sampling of 20 clients at q = 0.5,
// each adding a noise share of std 0.5 / sqrt(10), reproducible so that runs compare.
ExperimentConfig PrivateSecureRun() {
  ExperimentConfig c = SecureRun();
  c.run.rounds = 2;
  c.run.sampling = ClientSampling::kPoisson;
  c.strategy.weighting = Weighting::kExamples;  // privacy weighs every client 1 regardless
  PrivacySpec& privacy = c.plugins.Mutable<PrivacySpec>();
  privacy.mode = PrivacyMode::kDistributed;
  privacy.noise_multiplier = 0.5;
  privacy.clip_norm = 1.0;
  privacy.reproducible_noise = true;
  c.plugins.Mutable<SecAggSpec>().clip_range = 2.5;
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

// The run, and the same run with secure aggregation off.
std::pair<RunResult, RunResult> RunSecureAndPlain(const ExperimentConfig& secure) {
  ExperimentConfig plain = secure;
  plain.plugins.Mutable<SecAggSpec>().enabled = false;
  return {RunAll(secure), RunAll(plain)};
}

TEST(SecureAggregationSimulationTest, GivesPlainUniformFedAvgUpToTheQuantizationStep) {
  const auto [a, b] = RunSecureAndPlain(SecureRun());
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
  for (int stage : {1, 2, 3}) {  // advertising only sends the keys made with the client
    EXPECT_GT(m.secagg->server_seconds[stage], 0.0) << stage;
    EXPECT_GT(m.secagg->client_seconds[stage], 0.0) << stage;
  }
}

TEST(SecureAggregationSimulationTest, RandomKSumsTheRoundsSharedCoordinatesOnly) {
  const ExperimentConfig dense = SecureRun();
  ExperimentConfig sparse = dense;
  sparse.compress.uplink = "randk:ratio=0.1";
  auto fresh = Simulation::Create(dense);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  const std::span<const float> initial = (*fresh)->global_model().flat();
  const RunResult a = RunAll(dense);
  const RunResult b = RunAll(sparse);
  ASSERT_EQ(b.model.size(), initial.size());
  const size_t d = initial.size();
  auto uplink = *Pipeline::Parse(sparse.compress.uplink);
  const Update pattern =
      SecureInputPattern(*uplink, sparse.run.seed, 1, (*fresh)->global_model().specs());
  const size_t k = pattern.indices.size();
  EXPECT_EQ(k, static_cast<size_t>(std::llround(0.1 * d)));
  // Off the pattern the model is untouched; on it, the step is d / k times the dense run's mean
  // (the same clients, the same updates), up to one rounding step of each mean.
  const double step = 2.0 / ((1 << 24) - 1);
  std::vector<bool> chosen(d, false);
  for (size_t j = 0; j < k; ++j) {
    const uint32_t i = pattern.indices[j];
    chosen[i] = true;
    EXPECT_FLOAT_EQ(pattern.values[j], static_cast<float>(d) / k);
    const double expected = (a.model[i] - initial[i]) * pattern.values[j];
    EXPECT_NEAR(b.model[i] - initial[i], expected, pattern.values[j] * 2 * step + 1e-6) << i;
  }
  for (size_t i = 0; i < d; ++i) {
    if (!chosen[i]) {
      ASSERT_EQ(b.model[i], initial[i]) << i;
    }
  }
  // Each masked vector holds k values: 4-byte sender, varint count, 4 bytes a value.
  const RoundMetrics& m = b.rounds.at(0);
  ASSERT_TRUE(m.secagg.has_value());
  EXPECT_EQ(m.secagg->clients_summed, 10);
  const int64_t varint = k < (1 << 14) ? 2 : 3;
  EXPECT_EQ(m.secagg->bytes_up[2], 10 * (4 + varint + 4 * static_cast<int64_t>(k)));
}

// A count sketch uplink: every client's masked vector is its table (the same linear function of
// its update on every client), the server unmasks the sum of the tables and FetchSGD's server
// step unsketches their mean, as it does the mean of the plain tables.
TEST(SecureAggregationSimulationTest, SketchTablesAreSummedUnderTheMasks) {
  ExperimentConfig secure = SecureRun();
  constexpr int64_t kRows = 5, kCols = 2000;
  secure.compress.uplink = absl::StrCat("sketch:rows=", kRows, ",cols=", kCols, ",ratio=0.05");
  const auto [a, b] = RunSecureAndPlain(secure);
  ASSERT_EQ(a.model.size(), b.model.size());
  ASSERT_EQ(a.rounds.size(), 1u);
  // Each table entry is rounded to within step = 2 / (2^24 - 1) per client; the unsketched top
  // 5% of the mean table is the plain run's, coordinate for coordinate, up to that rounding (a
  // near-tie could swap a coordinate or two in or out of the top-k).
  const double step = 2.0 / ((1 << 24) - 1);
  size_t changed = 0, off = 0;
  for (size_t i = 0; i < a.model.size(); ++i) {
    const double gap = std::fabs(a.model[i] - b.model[i]);
    changed += a.model[i] != b.model[i];
    off += gap > 2 * step + 1e-7;
  }
  EXPECT_LE(off, a.model.size() / 1000) << "of " << a.model.size();
  EXPECT_GT(changed, 0u) << "the secure run should carry some rounding";
  const RoundMetrics& m = a.rounds[0];
  ASSERT_TRUE(m.secagg.has_value());
  EXPECT_FALSE(m.secagg->abandoned);
  EXPECT_EQ(m.secagg->clients_summed, 10);
  // The masked vector holds the table: 4-byte sender, a 2-byte varint count, 4 bytes an entry.
  EXPECT_EQ(m.secagg->bytes_up[2], 10 * (4 + 2 + 4 * kRows * kCols));
}

TEST(SecureAggregationSimulationTest, DistributedNoiseUnderTheMasksIsTheNoiseOfThePlainRun) {
  const auto [a, b] = RunSecureAndPlain(PrivateSecureRun());
  ASSERT_EQ(a.rounds.size(), 2u);
  ASSERT_EQ(b.rounds.size(), 2u);
  for (size_t r = 0; r < 2; ++r) {
    // The same clients, the same noise shares, accounted the same way.
    ASSERT_TRUE(a.rounds[r].secagg.has_value());
    EXPECT_EQ(a.rounds[r].secagg->clients_summed, b.rounds[r].clients) << r;
    ASSERT_TRUE(a.rounds[r].dp_epsilon.has_value());
    ASSERT_TRUE(b.rounds[r].dp_epsilon.has_value());
    EXPECT_GT(*a.rounds[r].dp_epsilon, 0.0);
    EXPECT_DOUBLE_EQ(*a.rounds[r].dp_epsilon, *b.rounds[r].dp_epsilon) << r;
  }
  // Each client's noised value is rounded to a multiple of 5 / (2^24 - 1); the sum of at most 20
  // divided by the expected 10, over two rounds, moves at most 4 steps. The noise in the mean
  // (std about 0.05) is far above that: a secure path that lost it would fail here.
  const double step = 5.0 / ((1 << 24) - 1);
  ASSERT_EQ(a.model.size(), b.model.size());
  double worst = 0.0;
  for (size_t i = 0; i < a.model.size(); ++i) {
    worst = std::max(worst, static_cast<double>(std::fabs(a.model[i] - b.model[i])));
  }
  EXPECT_LE(worst, 4 * step + 2e-6);
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
  for (const char* uplink : {"topk:ratio=0.1", "qsgd:bits=8", "randk:ratio=0.1|zstd",
                             "sketch:rows=3,cols=100,ratio=0.1|zstd"}) {
    c.compress.uplink = uplink;
    refused(c, "cannot go under the masks");
  }
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
  c = PrivateSecureRun();
  c.plugins.Mutable<PrivacySpec>().mode = PrivacyMode::kCentral;
  refused(c, "privacy.mode = central");
  c = PrivateSecureRun();
  c.plugins.Mutable<PrivacySpec>().adaptive_clipping = true;
  refused(c, "adaptive_clipping");
  c = PrivateSecureRun();
  c.plugins.Mutable<SecAggSpec>().clip_range = 2.0;  // below 1 + 8 * 0.5 / sqrt(10) = 2.26
  refused(c, "would clip the noised values");
}

}  // namespace
}  // namespace tributary
