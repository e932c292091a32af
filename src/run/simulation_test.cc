// Short end-to-end runs on the real Fashion-MNIST files (a subset, so they take seconds).
#include "run/simulation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "aggregate/strategy_registry.h"
#include "engine/client_step.h"
#include "engine/techniques/bandwidth_aware.h"
#include "engine/techniques/deep_gradient_compression.h"
#include "engine/techniques/hetero_fl.h"
#include "engine/techniques/local_layers_technique.h"
#include "engine/techniques/proximal_term.h"
#include "engine/techniques/scaffold_control.h"
#include "report/metrics_writer.h"
#include "sim/byzantine.h"

namespace tributary {
namespace {

ExperimentConfig ShortRun() {
  ExperimentConfig c;
  c.run.name = "short";
  c.run.seed = 3;
  c.run.rounds = 4;
  c.run.clients_per_round = 4;
  c.data.max_train_examples = 6000;
  c.data.max_test_examples = 1500;  // not a multiple of the eval batch: chunking would show
  c.data.partition = {.scheme = PartitionScheme::kIid, .num_clients = 20};
  c.model.name = "mlp";
  c.model.hidden = 64;
  c.train.learning_rate = 0.05;
  c.train.batch_size = 32;
  c.train.epochs = 1;
  c.compute.workers = 2;
  c.compute.threads_per_worker = 1;
  return c;
}

std::vector<RoundMetrics> RunAll(const ExperimentConfig& config, uint64_t* final_checksum) {
  auto simulation = Simulation::Create(config);
  EXPECT_TRUE(simulation.ok()) << simulation.status();
  std::vector<RoundMetrics> rounds;
  absl::Status status = (*simulation)->Run([&](const RoundMetrics& m) {
    rounds.push_back(m);
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  *final_checksum = (*simulation)->global_model().Checksum();
  return rounds;
}

TEST(SimulationTest, ShortRunLearnsFarBeyondChance) {
  uint64_t checksum = 0;
  std::vector<RoundMetrics> rounds = RunAll(ShortRun(), &checksum);
  ASSERT_EQ(rounds.size(), 4u);
  const RoundMetrics& last = rounds.back();
  ASSERT_TRUE(last.test_accuracy.has_value());
  EXPECT_GT(*last.test_accuracy, 0.65) << "chance is 0.10";
  EXPECT_LT(rounds.back().train_loss, rounds.front().train_loss);
  EXPECT_EQ(last.clients, 4);
  EXPECT_EQ(last.clients_rejected, 0);
  // Dense fp32: every sampled client downloads and uploads the whole model as a payload: the
  // values plus the header (magic, version, pipeline id, the dimension as a 3-byte varint) and an
  // 8-byte checksum.
  const int64_t payload_bytes = 4 * (784 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10) + 12 + 8;
  EXPECT_EQ(last.bytes_down, 4 * payload_bytes);
  EXPECT_EQ(last.bytes_up, 4 * payload_bytes);
  EXPECT_EQ(last.bytes_up_total, 16 * payload_bytes);
  EXPECT_NEAR(last.uplink_compression, 1.0, 0.001);
}

// Measured wall-clock times are the only figures that may differ between identical runs.
void ClearWallClock(RoundMetrics& m) {
  m.wall_seconds = m.eval_seconds = m.train_seconds_full = m.train_seconds_small = 0.0;
}

TEST(SimulationTest, SameSeedGivesIdenticalMetricsWithConcurrentClients) {
  ExperimentConfig config = ShortRun();
  config.run.rounds = 3;
  config.data.partition.scheme = PartitionScheme::kDirichlet;
  config.data.partition.alpha = 0.5;
  uint64_t checksum_a = 0, checksum_b = 0, checksum_c = 0;
  auto a = RunAll(config, &checksum_a);
  auto b = RunAll(config, &checksum_b);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ClearWallClock(a[i]);
    ClearWallClock(b[i]);
    EXPECT_EQ(RoundMetricsToJson(a[i]), RoundMetricsToJson(b[i]));
  }
  EXPECT_EQ(checksum_a, checksum_b);
  // One worker (strictly sequential, other arrival order) gives the same model and the same
  // metrics too, evaluation included.
  config.compute.workers = 1;
  auto c = RunAll(config, &checksum_c);
  EXPECT_EQ(checksum_a, checksum_c);
  for (size_t i = 0; i < a.size(); ++i) {
    ClearWallClock(c[i]);
    EXPECT_EQ(RoundMetricsToJson(a[i]), RoundMetricsToJson(c[i]));
  }
  // And a different seed gives a different run.
  config.run.seed = 4;
  uint64_t checksum_d = 0;
  RunAll(config, &checksum_d);
  EXPECT_NE(checksum_a, checksum_d);
}

// compute.eval_threads: every evaluation (round 0 included) reaches the callback still running,
// and finishes with the figures of the evaluation between rounds; the model is the same.
TEST(SimulationTest, EvaluationAlongsideTheNextRoundGivesTheSameFigures) {
  ExperimentConfig config = ShortRun();
  config.run.rounds = 3;
  config.run.eval_initial = true;
  uint64_t between_checksum = 0;
  std::vector<RoundMetrics> between = RunAll(config, &between_checksum);
  config.compute.eval_threads = 1;
  auto simulation = Simulation::Create(config);
  ASSERT_TRUE(simulation.ok()) << simulation.status();
  std::vector<RoundMetrics> alongside;
  int pending = 0;
  ASSERT_TRUE((*simulation)
                  ->Run([&](const RoundMetrics& m) {
                    pending += m.pending_evaluation.valid() ? 1 : 0;
                    alongside.push_back(m);
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(pending, 4);
  EXPECT_EQ((*simulation)->global_model().Checksum(), between_checksum);
  ASSERT_EQ(alongside.size(), between.size());
  for (size_t i = 0; i < between.size(); ++i) {
    ASSERT_TRUE(AwaitEvaluation(alongside[i]).ok());
    ASSERT_TRUE(alongside[i].test_accuracy.has_value());
    EXPECT_GT(alongside[i].eval_seconds, 0.0);
    ClearWallClock(alongside[i]);
    ClearWallClock(between[i]);
    EXPECT_EQ(RoundMetricsToJson(alongside[i]), RoundMetricsToJson(between[i]));
  }
}

TEST(SimulationTest, CompressedUplinkWithErrorFeedbackLearnsOnFewBytes) {
  ExperimentConfig config = ShortRun();
  config.run.rounds = 6;
  config.compress.uplink = "topk:ratio=0.02|fp16";
  config.compress.error_feedback = true;
  uint64_t checksum_a = 0, checksum_b = 0;
  std::vector<RoundMetrics> rounds = RunAll(config, &checksum_a);
  ASSERT_EQ(rounds.size(), 6u);
  // 2% of the values at 2 bytes plus about 1-2 bytes of index each: over 30x fewer bytes.
  EXPECT_GT(rounds.back().uplink_compression, 30.0);
  EXPECT_GT(*rounds.back().test_accuracy, 0.5) << "chance is 0.10";
  // Error-feedback state lives across rounds and still gives reproducible runs.
  RunAll(config, &checksum_b);
  EXPECT_EQ(checksum_a, checksum_b);
}

TEST(SimulationTest, SketchedUplinkIsAveragedAsTablesAndLearns) {
  ExperimentConfig config = ShortRun();
  config.run.rounds = 6;
  // MLP: 55,050 parameters; a 5 x 2000 fp32 table is 5.5x fewer bytes (header: 12 bytes, with
  // the dimension as a 3-byte varint; an 8-byte checksum).
  config.compress.uplink = "sketch:rows=5,cols=2000,ratio=0.02";
  uint64_t checksum_a = 0, checksum_b = 0;
  std::vector<RoundMetrics> rounds = RunAll(config, &checksum_a);
  ASSERT_EQ(rounds.size(), 6u);
  EXPECT_EQ(rounds.back().clients, 4);
  EXPECT_EQ(rounds.back().bytes_up, 4 * (4 * 5 * 2000 + 12 + 8));
  EXPECT_GT(*rounds.back().test_accuracy, 0.5) << "chance is 0.10";
  RunAll(config, &checksum_b);
  EXPECT_EQ(checksum_a, checksum_b);

  config.compress.error_feedback = true;  // the sketch's error feedback is on the server
  EXPECT_FALSE(Simulation::Create(config).ok());
}

TEST(SimulationTest, DownlinkSendsCatchUpsToReturningClientsAndResyncsNewOnes) {
  ExperimentConfig config = ShortRun();
  config.run.rounds = 8;
  config.data.partition.num_clients = 6;  // 4 of 6 each round: clients return often
  config.compress.uplink = "topk:ratio=0.01";
  config.compress.downlink = "topk:ratio=0.01";
  uint64_t checksum = 0;
  std::vector<RoundMetrics> rounds = RunAll(config, &checksum);
  // In round 1 every client regenerates the initial model from the seed: 8 bytes and an empty
  // catch-up each, no model sent.
  EXPECT_EQ(rounds.front().downlink_resyncs, 0);
  EXPECT_LT(rounds.front().bytes_down, 4 * 100);
  const int64_t full = 4 * (784 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10) + 32 + 4 + 8;
  int catch_ups = 0;
  for (const RoundMetrics& m : rounds) {
    catch_ups += 4 - m.downlink_resyncs;
    EXPECT_LE(m.bytes_down, 4 * full);
  }
  EXPECT_GT(catch_ups, 10);
  // A returning client needs only the coordinates that changed since it last synced.
  EXPECT_LT(rounds.back().bytes_down, 2 * full) << "catch-ups should be far below full models";
  EXPECT_GT(*rounds.back().test_accuracy, 0.4);
}

// NaN updates from Byzantine clients never reach the model, whatever the strategy.
TEST(SimulationTest, NanAttackersAreRejectedUnderEveryStrategy) {
  for (const std::string& name : RegisteredStrategies()) {
    if (name == "lora_exact") continue;  // needs a LoRA model: lora_exact_test.cc covers NaNs
    ExperimentConfig config = ShortRun();
    config.run.rounds = 2;
    config.run.clients_per_round = 8;
    config.data.max_train_examples = 2000;
    config.run.eval_every = 2;
    config.strategy.name = name;
    config.strategy.byzantine = 2;
    config.plugins.Mutable<AttackSpec>() = {.fraction = 0.25, .kind = "nan"};
    uint64_t checksum = 0;
    std::vector<RoundMetrics> rounds = RunAll(config, &checksum);
    ASSERT_EQ(rounds.size(), 2u) << name;
    int attackers = 0;
    for (const RoundMetrics& m : rounds) {
      EXPECT_EQ(m.clients_rejected, m.byzantine_clients) << name;
      EXPECT_EQ(m.clients + m.clients_rejected, 8) << name;
      attackers += m.byzantine_clients;
    }
    EXPECT_GT(attackers, 0) << name;
    EXPECT_TRUE(std::isfinite(*rounds.back().test_loss)) << name;
  }
}

TEST(SimulationTest, FedProxKeepsClientsCloserToTheGlobalModel) {
  auto distance_moved = [](const std::string& strategy) {
    ExperimentConfig config = ShortRun();
    config.run.rounds = 1;
    config.strategy.name = strategy;
    config.plugins.Mutable<ProximalTermOptions>().mu =
        5.0;  // lr * mu = 0.25: a strong but stable pull
    auto simulation = *Simulation::Create(config);
    const ModelState start = simulation->global_model();
    EXPECT_TRUE(simulation->Run([](const RoundMetrics&) { return absl::OkStatus(); }).ok());
    double squared = 0.0;
    for (size_t i = 0; i < start.num_elements(); ++i) {
      const double d = simulation->global_model().flat()[i] - start.flat()[i];
      squared += d * d;
    }
    return std::sqrt(squared);
  };
  const double fedavg = distance_moved("fedavg"), fedprox = distance_moved("fedprox");
  EXPECT_GT(fedprox, 0.0);
  EXPECT_LT(fedprox, 0.8 * fedavg) << "fedavg moved " << fedavg << ", fedprox " << fedprox;
}

TEST(SimulationTest, VirtualClockDropoutsAndDeadlines) {
  ExperimentConfig config = ShortRun();
  config.run.rounds = 3;
  config.run.eval_every = 3;
  config.system = {.profile = "mobile", .dropout = 0.25, .crash_upload = 0.25};
  uint64_t checksum = 0;
  std::vector<RoundMetrics> rounds = RunAll(config, &checksum);
  int dropped = 0;
  for (const RoundMetrics& m : rounds) {
    EXPECT_EQ(m.clients + m.clients_dropped + m.stragglers + m.clients_rejected, 4);
    EXPECT_GT(m.sim_seconds, 0.0);
    dropped += m.clients_dropped;
  }
  EXPECT_GT(dropped, 0);
  EXPECT_DOUBLE_EQ(rounds.back().sim_time_seconds,
                   rounds[0].sim_seconds + rounds[1].sim_seconds + rounds[2].sim_seconds);

  // A deadline shorter than any client's round trip: everyone is a straggler, the model
  // stays as it was, and every round lasts exactly the deadline.
  config.system = {.profile = "mobile", .deadline_seconds = 0.01};
  uint64_t unchanged = 0;
  rounds = RunAll(config, &unchanged);
  for (const RoundMetrics& m : rounds) {
    EXPECT_EQ(m.stragglers, 4);
    EXPECT_EQ(m.clients, 0);
    EXPECT_DOUBLE_EQ(m.sim_seconds, 0.01);
  }
  auto fresh = *Simulation::Create(config);
  EXPECT_EQ(unchanged, fresh->global_model().Checksum());
}

TEST(SimulationTest, BandwidthAwareTopKEvensOutUploadTimes) {
  ExperimentConfig config = ShortRun();
  config.run.rounds = 2;
  config.run.eval_every = 2;
  config.compress.uplink = "topk:ratio=0.02";
  config.system = {.profile = "edge", .seconds_per_example = 0.0};
  uint64_t checksum = 0;
  std::vector<RoundMetrics> fixed = RunAll(config, &checksum);
  config.plugins.Mutable<BandwidthAwareOptions>().enabled = true;
  std::vector<RoundMetrics> aware = RunAll(config, &checksum);
  // Same mean ratio, so about the same bytes; the slowest upload no longer sets a long round.
  EXPECT_NEAR(aware[0].bytes_up, fixed[0].bytes_up, 0.3 * fixed[0].bytes_up);
  EXPECT_LT(aware[0].sim_seconds, fixed[0].sim_seconds);
}

// Sparsity warm-up sends denser top-k uploads in the first rounds, down to the configured
// ratio (about the same bytes as without warm-up from round W + 1 on); with momentum correction and
// masking too, the run still learns.
TEST(SimulationTest, DeepGradientCompressionWarmsUpAndLearns) {
  ExperimentConfig config = ShortRun();
  config.compress.uplink = "topk:ratio=0.01";
  config.compress.error_feedback = true;
  uint64_t checksum = 0;
  const std::vector<RoundMetrics> fixed = RunAll(config, &checksum);
  config.plugins.Mutable<DgcOptions>() = {
      .momentum = 0.5, .clip_norm = 5.0, .warmup_rounds = 3, .warmup_density = 0.1};
  const std::vector<RoundMetrics> dgc = RunAll(config, &checksum);
  ASSERT_EQ(dgc.size(), 4u);
  EXPECT_GT(dgc[0].bytes_up, 5 * fixed[0].bytes_up);
  EXPECT_GT(dgc[0].bytes_up, dgc[1].bytes_up);
  EXPECT_GT(dgc[1].bytes_up, dgc[2].bytes_up);
  EXPECT_GT(dgc[2].bytes_up, dgc[3].bytes_up);
  // The same top-k count; index gaps are varints, so the bytes differ a little.
  EXPECT_NEAR(dgc[3].bytes_up, fixed[3].bytes_up, 0.05 * fixed[3].bytes_up);
  EXPECT_GT(dgc.back().test_accuracy, 0.5);
}

TEST(SimulationTest, ScaffoldSendsControlVariatesBothWaysAndLearns) {
  ExperimentConfig config = ShortRun();
  config.run.rounds = 3;
  uint64_t checksum = 0;
  std::vector<RoundMetrics> fedavg = RunAll(config, &checksum);
  config.strategy.name = "scaffold";
  std::vector<RoundMetrics> scaffold = RunAll(config, &checksum);
  // fp32 uplink: the delta and dc_i, each a full payload; the downlink adds c as fp32.
  EXPECT_EQ(scaffold.back().bytes_up, 2 * fedavg.back().bytes_up);
  EXPECT_EQ(scaffold.back().bytes_down, 2 * fedavg.back().bytes_down);
  EXPECT_EQ(scaffold.back().clients, 4);
  EXPECT_GT(*scaffold.back().test_accuracy, *fedavg.back().test_accuracy - 0.05);
}

// On the mobile profile, a deadline some of ShortRun()'s clients meet and some miss.
constexpr double kMixedDeadline = 2.0;

// SCAFFOLD's server control variate is the mean of the clients' (c = sum_i c_i / N): a client
// whose upload the server does not aggregate (here: a straggler) must not move its c_i either.
TEST(SimulationTest, ScaffoldStragglersKeepTheirControlVariate) {
  ExperimentConfig config = ShortRun();
  config.run.rounds = 4;
  config.run.eval_every = 4;
  config.strategy.name = "scaffold";
  config.system = {.profile = "mobile", .deadline_seconds = kMixedDeadline};
  auto simulation = *Simulation::Create(config);
  int accepted = 0, stragglers = 0;
  ASSERT_TRUE(simulation
                  ->Run([&](const RoundMetrics& m) {
                    accepted += m.clients;
                    stragglers += m.stragglers;
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_GT(accepted, 0);
  ASSERT_GT(stragglers, 0);
  const ModelState* c = simulation->server_state();
  ASSERT_NE(c, nullptr);
  std::vector<double> mean(c->num_elements(), 0.0);
  const int population = config.data.partition.num_clients;
  for (int client = 0; client < population; ++client) {
    for (const auto& state : simulation->client_memory(client).techniques) {
      const ModelState* ci = state ? ScaffoldClientControl(*state) : nullptr;
      if (ci == nullptr) continue;
      for (size_t i = 0; i < mean.size(); ++i) mean[i] += ci->flat()[i] / population;
    }
  }
  double worst = 0.0, largest = 0.0;
  for (size_t i = 0; i < mean.size(); ++i) {
    worst = std::max(worst, std::fabs(c->flat()[i] - mean[i]));
    largest = std::max(largest, std::fabs(mean[i]));
  }
  EXPECT_GT(largest, 1e-3) << "c_i too small to compare";
  EXPECT_LE(worst, 1e-4 * largest) << "c drifted from the clients' mean c_i";
}

TEST(SimulationTest, LocalLayersStayOnClientsAndPersonalize) {
  ExperimentConfig config = ShortRun();
  config.run.rounds = 5;
  config.run.eval_every = 5;
  config.run.clients_per_round = 10;
  config.data.partition = {
      .scheme = PartitionScheme::kShards, .num_clients = 20, .shards_per_client = 2};
  config.data.client_holdout = 0.2;
  uint64_t checksum = 0;
  std::vector<RoundMetrics> shared = RunAll(config, &checksum);
  config.plugins.Mutable<LocalLayersOptions>().prefixes = "fc3";
  std::vector<RoundMetrics> personal = RunAll(config, &checksum);
  ASSERT_TRUE(shared.back().client_accuracy.has_value());
  ASSERT_TRUE(personal.back().client_accuracy.has_value());
  // The head (64 x 10 + 10 values) is never sent.
  EXPECT_EQ(shared.back().bytes_up - personal.back().bytes_up, 10 * 4 * (64 * 10 + 10));
  // Two classes per client: a head of its own fits the client's own examples far better.
  EXPECT_GT(*personal.back().client_accuracy, *shared.back().client_accuracy + 0.05)
      << "shared " << *shared.back().client_accuracy << ", personal "
      << *personal.back().client_accuracy;
}

// A TorchScript module (testdata/mlp_batchnorm.pt) trains like a built-in model; its batch-norm
// statistics are averaged into the global model, or stay on the clients with buffers = local.
TEST(SimulationTest, TorchScriptModelLearnsAndItsBuffersAreAveragedOrKeptLocal) {
  ExperimentConfig config = ShortRun();
  config.run.rounds = 3;
  config.model.name = "torchscript";
  config.model.path = std::string(TRIBUTARY_SOURCE_DIR) + "/testdata/mlp_batchnorm.pt";
  auto running_mean = [](const ModelState& m) { return m.tensor(m.specs().size() - 2); };
  for (const std::string buffers : {"aggregate", "local"}) {
    config.model.buffers = buffers;
    auto simulation = Simulation::Create(config);
    ASSERT_TRUE(simulation.ok()) << simulation.status();
    const std::vector<float> initial(running_mean((*simulation)->global_model()).begin(),
                                     running_mean((*simulation)->global_model()).end());
    std::vector<RoundMetrics> rounds;
    ASSERT_TRUE((*simulation)
                    ->Run([&](const RoundMetrics& m) {
                      rounds.push_back(m);
                      return absl::OkStatus();
                    })
                    .ok());
    ASSERT_TRUE(rounds.back().test_accuracy.has_value());
    EXPECT_GT(*rounds.back().test_accuracy, 0.6) << buffers << ": chance is 0.10";
    auto final_mean = running_mean((*simulation)->global_model());
    const bool moved = !std::equal(final_mean.begin(), final_mean.end(), initial.begin());
    EXPECT_EQ(moved, buffers == "aggregate") << buffers;
  }
}

TEST(SimulationTest, SmallClientsTrainASliceAndSendLess) {
  ExperimentConfig config = ShortRun();
  config.run.rounds = 4;
  config.run.clients_per_round = 8;
  config.plugins.Mutable<HeteroFlOptions>() = {.small_fraction = 0.5, .small_width = 0.5};
  uint64_t checksum = 0;
  std::vector<RoundMetrics> rounds = RunAll(config, &checksum);
  int small = 0, full = 0;
  for (const RoundMetrics& m : rounds) {
    small += m.small_clients_trained;
    full += m.full_clients_trained;
    if (m.small_clients_trained > 0 && m.full_clients_trained > 0) {
      // Hidden widths 64 -> 32: the slice holds about half of fc1 and a quarter of fc2.
      EXPECT_LT(m.bytes_up_per_small_client, 0.6 * m.bytes_up_per_full_client);
    }
  }
  EXPECT_GT(small, 0);
  EXPECT_GT(full, 0);
  EXPECT_GT(*rounds.back().test_accuracy, 0.6);
  config.strategy.name = "median";  // not coordinate-wise over holders: refused
  EXPECT_FALSE(Simulation::Create(config).ok());
}

TEST(SimulationTest, BadConfigIsAnErrorNotACrash) {
  ExperimentConfig config = ShortRun();
  config.run.clients_per_round = 21;  // K > N
  EXPECT_FALSE(Simulation::Create(config).ok());
  config = ShortRun();
  config.data.dir = "/nonexistent";
  auto missing = Simulation::Create(config);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("dataset-fashion-mnist"), std::string::npos);
  config = ShortRun();
  config.model.name = "transformer";
  EXPECT_FALSE(Simulation::Create(config).ok());
  config = ShortRun();
  config.compress.uplink = "topk:ratio=7";
  EXPECT_FALSE(Simulation::Create(config).ok());
  config = ShortRun();
  config.compute.spill_dir = "/nonexistent/spill";
  auto spill = Simulation::Create(config);
  ASSERT_FALSE(spill.ok());
  EXPECT_NE(spill.status().message().find("compute.spill_dir"), std::string::npos);
}

}  // namespace
}  // namespace tributary

namespace tributary {
namespace {

std::vector<RoundMetrics> RunWith(const ExperimentConfig& config, const SimulationOptions& options,
                                  uint64_t* final_checksum) {
  auto simulation = Simulation::Create(config, options);
  EXPECT_TRUE(simulation.ok()) << simulation.status();
  std::vector<RoundMetrics> rounds;
  EXPECT_TRUE((*simulation)
                  ->Run([&](const RoundMetrics& m) {
                    rounds.push_back(m);
                    return absl::OkStatus();
                  })
                  .ok());
  *final_checksum = (*simulation)->global_model().Checksum();
  return rounds;
}

// --replay: a run's recorded participation (accepted clients, expected weight) recomputes its
// model exactly, here of a run whose clients drop out; leaving one update out does not.
TEST(SimulationTest, ReplayOfTheRecordedParticipationGivesTheSameModel) {
  ExperimentConfig config = ShortRun();
  config.system.dropout = 0.3;
  uint64_t original = 0;
  const std::vector<RoundMetrics> rounds = RunWith(config, {}, &original);
  auto recorded = std::make_shared<std::map<int, RecordedRound>>();
  int dropped = 0;
  for (const RoundMetrics& m : rounds) {
    (*recorded)[m.round] = {.accepted_clients = m.accepted_clients,
                            .expected_weight = m.expected_weight};
    EXPECT_EQ(m.accepted_clients.size(), static_cast<size_t>(m.clients));
    dropped += m.clients_dropped;
  }
  ASSERT_GT(dropped, 0);
  config.system.dropout = 0.0;  // the replay trains exactly the recorded clients
  uint64_t replayed = 0;
  RunWith(config, {.replay = recorded}, &replayed);
  EXPECT_EQ(replayed, original);

  auto one_less = std::make_shared<std::map<int, RecordedRound>>(*recorded);
  (*one_less)[2].accepted_clients.pop_back();
  uint64_t different = 0;
  RunWith(config, {.replay = one_less}, &different);
  EXPECT_NE(different, original);
  // A replay with failures of its own would not be one.
  config.system.dropout = 0.3;
  EXPECT_FALSE(Simulation::Create(config, {.replay = recorded}).ok());
}

}  // namespace
}  // namespace tributary
