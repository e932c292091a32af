// Test helpers for `mpirun -n R tributary simulate`: runs the real binary alone and under Open
// MPI's launcher on a small config, and compares the results (docs/scale.md).
#ifndef TRIBUTARY_RUN_DISTRIBUTED_SIMULATION_FIXTURE_H_
#define TRIBUTARY_RUN_DISTRIBUTED_SIMULATION_FIXTURE_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/test_shell.h"

namespace tributary {

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// metrics.jsonl without the measured wall-clock times, the only fields that may differ.
inline std::vector<nlohmann::json> Metrics(const std::filesystem::path& run) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(run / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    nlohmann::json row = nlohmann::json::parse(line);
    for (const char* wall :
         {"wall_seconds", "eval_seconds", "train_seconds_full", "train_seconds_small"}) {
      row.erase(wall);
    }
    rows.push_back(row);
  }
  return rows;
}

// Error feedback, a Dirichlet split and per-client evaluation: client state that must stay
// with its rank, and a per-client figure gathered from every rank.
inline constexpr char kConfig[] = R"(
[run]
rounds = 3
clients_per_round = 6
seed = 3
[data]
partition = "dirichlet"
num_clients = 20
max_train_examples = 2000
max_test_examples = 500
client_holdout = 0.2
[model]
name = "mlp"
hidden = 32
[train]
batch_size = 16
momentum = 0.0
[compress]
uplink = "topk:ratio=0.05"
error_feedback = true
)";

class DistributedSimulationTest : public ::testing::Test {
 public:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("tributary_mpi_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "config.toml") << kConfig;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // `launcher` is empty or an mpirun command line; `out` a folder under dir_.
  CommandResult Simulate(const std::string& launcher, const std::string& out,
                         const std::string& extra) {
    return RunShell(launcher + " " + TRIBUTARY_BINARY + " simulate " +
                    (dir_ / "config.toml").string() + " --out " + (dir_ / out).string() +
                    " --overwrite --quiet " + extra);
  }

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

#ifdef TRIBUTARY_MPIEXEC
// Open MPI refuses to start as root unless told; CI runs as root.
inline std::string Mpirun(int ranks) {
  return std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ") +
         TRIBUTARY_MPIEXEC + " -n " + std::to_string(ranks) + " --oversubscribe";
}

// Runs `strategy` (--set flags) in one process, then on each of `rank_counts` ranks, and
// expects the same metrics (less wall-clock fields) and the same model.pt bytes.
inline void ExpectSameResultsOnRanks(DistributedSimulationTest& test, const std::string& strategy,
                                     const std::vector<int>& rank_counts) {
  CommandResult alone = test.Simulate("", "alone", strategy);
  ASSERT_EQ(alone.exit_code, 0) << strategy << "\n" << alone.output;
  const std::vector<nlohmann::json> expected = Metrics(test.dir() / "alone");
  ASSERT_EQ(expected.size(), 3u);
  ASSERT_TRUE(expected.back().contains("test_accuracy"));
  ASSERT_TRUE(expected.back().contains("client_accuracy"));
  for (int ranks : rank_counts) {
    const std::string out = "ranks" + std::to_string(ranks);
    CommandResult run = test.Simulate(Mpirun(ranks), out, strategy);
    ASSERT_EQ(run.exit_code, 0) << strategy << " on " << ranks << " ranks\n" << run.output;
    EXPECT_EQ(Metrics(test.dir() / out), expected) << strategy << " on " << ranks << " ranks";
    EXPECT_TRUE(ReadFile(test.dir() / out / "model.pt") ==
                ReadFile(test.dir() / "alone" / "model.pt"))
        << strategy << " on " << ranks << " ranks: model.pt differs";
    // Rank 0 alone writes the results.
    EXPECT_TRUE(std::filesystem::exists(test.dir() / out / "config.toml"));
  }
}
#endif

}  // namespace tributary

#endif  // TRIBUTARY_RUN_DISTRIBUTED_SIMULATION_FIXTURE_H_
