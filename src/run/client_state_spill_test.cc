#include "run/client_state_spill.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <numeric>

#include "report/metrics_writer.h"
#include "run/simulation.h"

namespace tributary {
namespace {

constexpr size_t kValues = 1000;  // per vector: a client's residual is 4,000 bytes

// Client c's residual (and, for odd c, optimizer moments): values no two clients share.
ClientMemory StateOf(uint32_t c) {
  ClientMemory memory;
  memory.codec.residual.resize(kValues);
  std::iota(memory.codec.residual.begin(), memory.codec.residual.end(), c * 1e-3f);
  if (c % 2 == 1) {
    memory.optimizer.step = c;
    memory.optimizer.first.assign(kValues / 2, 1.0f / (c + 1));
    memory.optimizer.second.assign(kValues / 4, -2.0f * c);
  }
  return memory;
}

void ExpectSameState(const ClientMemory& a, const ClientMemory& b) {
  EXPECT_EQ(a.codec.residual, b.codec.residual);
  EXPECT_EQ(a.codec.low_rank_q, b.codec.low_rank_q);
  EXPECT_EQ(a.optimizer.first, b.optimizer.first);
  EXPECT_EQ(a.optimizer.second, b.optimizer.second);
}

// Direct I/O (O_DIRECT) and buffered.
class ClientStateSpillIoTest : public ::testing::TestWithParam<bool> {};

TEST_P(ClientStateSpillIoTest, SpillsTheLeastRecentlyTrainedAndRestoresExactly) {
  constexpr size_t kClients = 40;
  std::vector<ClientMemory> memories(kClients);
  // Room for about three clients' residuals outside the round.
  ClientStateSpill spill(/*budget_bytes=*/3 * kValues * 4 + 100, "", kClients,
                         /*direct_io=*/GetParam());
  std::vector<uint32_t> trained;
  for (uint32_t round = 0; round < 10; ++round) {
    const std::vector<uint32_t> cohort = {round * 4, round * 4 + 1, round * 4 + 2, round * 4 + 3};
    ASSERT_TRUE(spill.PrepareRound(cohort, memories).ok());
    for (uint32_t c : cohort) memories[c] = StateOf(c);  // as if the round trained them
    trained.insert(trained.end(), cohort.begin(), cohort.end());
  }
  // The next call accounts the last round and spills down to the budget.
  ASSERT_TRUE(spill.PrepareRound(std::vector<uint32_t>{}, memories).ok());
  EXPECT_LE(spill.resident_bytes(), 3 * kValues * 4 + 100);
  EXPECT_GT(spill.spilled_bytes(), 0);
  // The most recent round's clients stay; the first ones were spilled (and freed).
  EXPECT_EQ(memories[39].codec.residual.size(), kValues);
  EXPECT_TRUE(memories[0].codec.residual.empty());
  EXPECT_EQ(memories[0].codec.residual.capacity(), 0u);
  // A checkpoint reads spilled state without disturbing it, whether it is in the file or still
  // being written (the last call spilled 34 to 37; 0 and 1 went to the file long before).
  for (uint32_t c : {0u, 1u, 36u, 37u}) {
    SCOPED_TRACE(c);
    ASSERT_TRUE(spill.IsSpilled(c));
    ClientMemory copy;
    ASSERT_TRUE(spill.ReadSpilled(c, copy).ok());
    ExpectSameState(copy, StateOf(c));
  }
  // Back in a cohort, each holds exactly what it had, in any order of return.
  // (Read back while the round trains: a client's state is there once AwaitRestored returns.)
  const std::vector<uint32_t> returning = {1, 0, 17, 39};
  ASSERT_TRUE(spill.PrepareRound(returning, memories).ok());
  for (uint32_t c : returning) {
    SCOPED_TRACE(c);
    ASSERT_TRUE(spill.AwaitRestored(c).ok());
    ExpectSameState(memories[c], StateOf(c));
  }
  ASSERT_TRUE(spill.FinishReading().ok());
  // Everyone, a few at a time: all of it comes back, and the file's space is reused.
  for (uint32_t c = 0; c < kClients; c += 2) {
    const std::vector<uint32_t> cohort = {c, c + 1};
    ASSERT_TRUE(spill.PrepareRound(cohort, memories).ok());
    ASSERT_TRUE(spill.FinishReading().ok());
    ExpectSameState(memories[c], StateOf(c));
    ExpectSameState(memories[c + 1], StateOf(c + 1));
  }
  EXPECT_LE(spill.resident_bytes(), 3 * kValues * 4 + 100 + 2 * 7 * kValues);
}

INSTANTIATE_TEST_SUITE_P(DirectAndBuffered, ClientStateSpillIoTest, ::testing::Bool());

TEST(ClientStateSpillTest, NoBudgetNeverSpills) {
  std::vector<ClientMemory> memories(8);
  ClientStateSpill spill(/*budget_bytes=*/0, "/nonexistent/folder", memories.size());
  for (uint32_t c = 0; c < 8; ++c) {
    ASSERT_TRUE(spill.PrepareRound(std::vector<uint32_t>{c}, memories).ok());
    memories[c] = StateOf(c);
  }
  ASSERT_TRUE(spill.PrepareRound(std::vector<uint32_t>{}, memories).ok());
  for (uint32_t c = 0; c < 8; ++c) ExpectSameState(memories[c], StateOf(c));
  EXPECT_EQ(spill.spilled_bytes(), 0);
}

TEST(ClientStateSpillTest, AFolderItCannotWriteIsAClearErrorAndNothingIsLost) {
  std::vector<ClientMemory> memories(4);
  ClientStateSpill spill(/*budget_bytes=*/1, "/nonexistent/folder", memories.size());
  ASSERT_TRUE(spill.PrepareRound(std::vector<uint32_t>{0, 1}, memories).ok());
  memories[0] = StateOf(0);
  memories[1] = StateOf(1);
  const absl::Status status = spill.PrepareRound(std::vector<uint32_t>{2}, memories);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("/nonexistent/folder"), std::string::npos) << status;
  EXPECT_NE(status.message().find("compute.spill_dir"), std::string::npos) << status;
  ExpectSameState(memories[0], StateOf(0));
  ExpectSameState(memories[1], StateOf(1));
}

// The spill file's writes run while the round trains; one that fails (here the file-size limit,
// as a full disk would) is reported by the next call, and the state it held is back in memory.
TEST(ClientStateSpillTest, AWriteThatFailsWhileTheRoundTrainsLosesNothing) {
  std::vector<ClientMemory> memories(4);
  ClientStateSpill spill(/*budget_bytes=*/1, "", memories.size(), /*direct_io=*/false);
  ASSERT_TRUE(spill.PrepareRound(std::vector<uint32_t>{0, 1}, memories).ok());
  memories[0] = StateOf(0);
  memories[1] = StateOf(1);
  // Room for client 0's record (4,032 bytes), not for client 1's after it.
  rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit limit = old_limit;
  limit.rlim_cur = 6000;
  const sighandler_t old_handler = std::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of a signal
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  const absl::Status queued = spill.PrepareRound(std::vector<uint32_t>{2}, memories);
  EXPECT_TRUE(queued.ok()) << queued;
  EXPECT_TRUE(memories[0].codec.residual.empty());
  EXPECT_TRUE(memories[1].codec.residual.empty());
  const absl::Status failed = spill.PrepareRound(std::vector<uint32_t>{3}, memories);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("spill file"), std::string::npos) << failed;
  EXPECT_NE(failed.message().find("compute.spill_dir"), std::string::npos) << failed;
  // Client 0 reached the file, client 1 is back in memory; both come back whole.
  EXPECT_TRUE(spill.IsSpilled(0));
  EXPECT_FALSE(spill.IsSpilled(1));
  ExpectSameState(memories[1], StateOf(1));
  ASSERT_TRUE(spill.PrepareRound(std::vector<uint32_t>{0, 1}, memories).ok());
  ASSERT_TRUE(spill.FinishReading().ok());
  ExpectSameState(memories[0], StateOf(0));
  ExpectSameState(memories[1], StateOf(1));
}

// Measured wall-clock times are the only fields identical runs may differ in.
std::vector<std::string> MetricsWithoutWallClock(const ExperimentConfig& config, uint64_t* checksum,
                                                 int64_t* spilled, double* accuracy) {
  auto simulation = Simulation::Create(config);
  EXPECT_TRUE(simulation.ok()) << simulation.status();
  std::vector<std::string> rows;
  absl::Status status = (*simulation)->Run([&](const RoundMetrics& m) {
    *accuracy = m.test_accuracy.value_or(0.0);
    RoundMetrics copy = m;
    copy.wall_seconds = copy.eval_seconds = copy.train_seconds_full = copy.train_seconds_small = 0;
    rows.push_back(RoundMetricsToJson(copy));
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  *checksum = (*simulation)->global_model().Checksum();
  // Clients that trained but are not in memory now were spilled.
  *spilled = 0;
  for (uint32_t c = 0; c < (*simulation)->population().size(); ++c) {
    if ((*simulation)->client_memory(c).codec.residual.empty()) ++*spilled;
  }
  return rows;
}

// The synthetic dataset with error feedback and kept momentum: a budget of 1 MiB keeps one
// client's state (the MLP's residual and momentum, 946 kB) outside the round, so nearly every
// client's state goes to the file and back; the run is the same, byte for byte, as without.
TEST(ClientStateSpillTest, SimulationWithATinyBudgetEqualsTheUnboundedRun) {
  ExperimentConfig config;
  config.run.seed = 5;
  config.run.rounds = 6;
  config.run.clients_per_round = 5;
  config.data.dataset = "synthetic_images";
  config.data.max_train_examples = 1500;
  config.data.max_test_examples = 500;
  config.data.partition = {.scheme = PartitionScheme::kIid, .num_clients = 15};
  config.model.name = "mlp";
  config.model.hidden = 128;
  config.train.learning_rate = 0.05;
  config.train.momentum = 0.9;
  config.train.keep_optimizer_state = true;
  config.train.batch_size = 32;
  config.train.epochs = 1;
  config.compress.uplink = "topk:ratio=0.05";
  config.compress.error_feedback = true;
  config.compute.workers = 2;
  config.compute.threads_per_worker = 1;
  config.compute.client_state_mb = 0;
  uint64_t unbounded = 0, bounded = 0;
  int64_t spilled_unbounded = 0, spilled_bounded = 0;
  double accuracy = 0.0;
  const std::vector<std::string> a =
      MetricsWithoutWallClock(config, &unbounded, &spilled_unbounded, &accuracy);
  EXPECT_GT(accuracy, 0.5) << "the synthetic classes are learnable; chance is 0.1";
  config.compute.client_state_mb = 1;
  const std::vector<std::string> b =
      MetricsWithoutWallClock(config, &bounded, &spilled_bounded, &accuracy);
  EXPECT_EQ(a, b);
  EXPECT_EQ(unbounded, bounded);
  // Without a budget an empty residual means the client never trained; with it, most clients
  // that trained (about 13 of 15) but were not in the last round are in the file.
  const int64_t never_trained = spilled_unbounded;
  EXPECT_GE(spilled_bounded - never_trained, 5);
  EXPECT_EQ(a.size(), 6u);
}

}  // namespace
}  // namespace tributary
