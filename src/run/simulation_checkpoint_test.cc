// A simulated run stopped after a round and resumed from its checkpoint ends with the same
// metrics and model, byte for byte, as the run never stopped.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/file_util.h"
#include "common/status_util.h"
#include "engine/client_step.h"
#include "report/metrics_writer.h"
#include "run/simulation.h"

namespace tributary {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kFingerprint = 0x1234;

// Error feedback, kept momentum, a compressed downlink (its increments are history the
// checkpoint must hold) and a 1 MiB budget for client state (most of it spilled when the
// checkpoint is written).
ExperimentConfig StatefulRun() {
  ExperimentConfig c;
  c.run.seed = 5;
  c.run.rounds = 7;
  c.run.clients_per_round = 5;
  c.data.dataset = "synthetic_images";
  c.data.max_train_examples = 1500;
  c.data.max_test_examples = 300;
  c.data.partition = {.scheme = PartitionScheme::kDirichlet, .num_clients = 20, .alpha = 0.5};
  c.model.name = "mlp";
  c.model.hidden = 128;
  c.train.learning_rate = 0.05;
  c.train.momentum = 0.9;
  c.train.keep_optimizer_state = true;
  c.train.batch_size = 32;
  c.train.epochs = 1;
  c.compress.uplink = "topk:ratio=0.05";
  c.compress.error_feedback = true;
  c.compress.downlink = "topk:ratio=0.1";
  c.compute.workers = 2;
  c.compute.threads_per_worker = 1;
  c.compute.client_state_mb = 1;
  return c;
}

std::string WithoutWallClock(RoundMetrics m) {
  m.wall_seconds = m.eval_seconds = m.train_seconds_full = m.train_seconds_small = 0.0;
  return RoundMetricsToJson(m);
}

class SimulationCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tributary_sim_checkpoint_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `config` from the start, or after the checkpoint at `resume`; writes a checkpoint after
  // every round and stops after `stop_after` (0: runs to the end). Returns each round's metrics.
  std::vector<std::string> Run(const ExperimentConfig& config, int stop_after,
                               const std::string& resume, uint64_t* checksum) {
    auto simulation = Simulation::Create(config);
    EXPECT_TRUE(simulation.ok()) << simulation.status();
    if (!resume.empty()) {
      absl::StatusOr<int> round = (*simulation)->Resume(resume, kFingerprint);
      EXPECT_TRUE(round.ok()) << round.status();
    }
    std::vector<std::string> rows;
    const absl::Status status = (*simulation)->Run([&](const RoundMetrics& m) -> absl::Status {
      rows.push_back(WithoutWallClock(m));
      TRIB_RETURN_IF_ERROR((*simulation)->WriteCheckpoint(path(), m.round, kFingerprint));
      if (m.round == stop_after) return absl::CancelledError("stopped");
      return absl::OkStatus();
    });
    EXPECT_EQ(status.ok(), stop_after == 0) << status;
    *checksum = (*simulation)->global_model().Checksum();
    return rows;
  }
  std::string path() const { return (dir_ / "checkpoint.bin").string(); }

  fs::path dir_;
};

TEST_F(SimulationCheckpointTest, StoppedAndResumedRunEqualsTheUninterruptedOne) {
  const ExperimentConfig config = StatefulRun();
  uint64_t whole = 0, first = 0, rest = 0;
  const std::vector<std::string> uninterrupted = Run(config, 0, "", &whole);
  ASSERT_EQ(uninterrupted.size(), 7u);
  const std::vector<std::string> head = Run(config, 3, "", &first);
  ASSERT_EQ(head.size(), 3u);
  EXPECT_NE(first, whole);
  const std::vector<std::string> tail = Run(config, 0, path(), &rest);
  ASSERT_EQ(tail.size(), 4u);
  for (size_t r = 0; r < 3; ++r) EXPECT_EQ(head[r], uninterrupted[r]) << "round " << r + 1;
  for (size_t r = 0; r < 4; ++r) EXPECT_EQ(tail[r], uninterrupted[3 + r]) << "round " << r + 4;
  EXPECT_EQ(rest, whole);
}

TEST_F(SimulationCheckpointTest, ADamagedCheckpointFallsBackToThePreviousOne) {
  const ExperimentConfig config = StatefulRun();
  uint64_t whole = 0, first = 0, rest = 0;
  const std::vector<std::string> uninterrupted = Run(config, 0, "", &whole);
  Run(config, 4, "", &first);  // checkpoint.bin: round 4; .prev: round 3
  {
    std::fstream file(path(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(100);
    file.put('\x7f');
  }
  const std::vector<std::string> tail = Run(config, 0, path(), &rest);
  ASSERT_EQ(tail.size(), 4u);  // rounds 4..7, from the round-3 checkpoint
  EXPECT_EQ(tail.front(), uninterrupted[3]);
  EXPECT_EQ(rest, whole);
}

TEST_F(SimulationCheckpointTest, RefusesAnotherConfigAndWhatItCannotHold) {
  ExperimentConfig config = StatefulRun();
  uint64_t checksum = 0;
  Run(config, 2, "", &checksum);
  auto simulation = Simulation::Create(config);
  ASSERT_TRUE(simulation.ok());
  absl::StatusOr<int> other = (*simulation)->Resume(path(), kFingerprint + 1);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("another config"), std::string::npos) << other.status();
  absl::StatusOr<int> missing = (*simulation)->Resume((dir_ / "none.bin").string(), kFingerprint);
  EXPECT_FALSE(missing.ok());
  // SCAFFOLD's per-client control variates are not in the checkpoint: no checkpoints at all.
  config.strategy.name = "scaffold";
  auto scaffold = Simulation::Create(config);
  ASSERT_TRUE(scaffold.ok()) << scaffold.status();
  ASSERT_TRUE((*scaffold)->WhyNoCheckpoints().has_value());
  EXPECT_FALSE((*scaffold)->Resume(path(), kFingerprint).ok());
  EXPECT_FALSE((*scaffold)->WriteCheckpoint(path(), 1, kFingerprint).ok());
}

}  // namespace
}  // namespace tributary
