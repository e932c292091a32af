// `mpirun -n R tributary simulate`: the same metrics and the same model bytes for any number of
// ranks (docs/scale.md). Runs the real binary under Open MPI's launcher.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace tributary {
namespace {

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult RunShell(const std::string& command) {
  CommandResult result;
  std::FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// metrics.jsonl without the measured wall-clock times, the only fields that may differ.
std::vector<nlohmann::json> Metrics(const std::filesystem::path& run) {
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
constexpr char kConfig[] = R"(
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
 protected:
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

  std::filesystem::path dir_;
};

#ifdef TRIBUTARY_MPIEXEC
// Open MPI refuses to start as root unless told; CI runs as root.
std::string Mpirun(int ranks) {
  return std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ") +
         TRIBUTARY_MPIEXEC + " -n " + std::to_string(ranks) + " --oversubscribe";
}

TEST_F(DistributedSimulationTest, OneAndTwoRanksGiveTheSingleProcessRunBitForBit) {
  const std::vector<std::string> strategies = {
      "--set strategy.name=fedavg",
      "--set strategy.name=fedadam --set strategy.server_lr=0.01",
      "--set strategy.name=scaffold",
      "--set strategy.name=median",
  };
  for (const std::string& strategy : strategies) {
    CommandResult alone = Simulate("", "alone", strategy);
    ASSERT_EQ(alone.exit_code, 0) << strategy << "\n" << alone.output;
    const std::vector<nlohmann::json> expected = Metrics(dir_ / "alone");
    ASSERT_EQ(expected.size(), 3u);
    ASSERT_TRUE(expected.back().contains("test_accuracy"));
    ASSERT_TRUE(expected.back().contains("client_accuracy"));
    for (int ranks : {1, 2}) {
      const std::string out = "ranks" + std::to_string(ranks);
      CommandResult run = Simulate(Mpirun(ranks), out, strategy);
      ASSERT_EQ(run.exit_code, 0) << strategy << " on " << ranks << " ranks\n" << run.output;
      EXPECT_EQ(Metrics(dir_ / out), expected) << strategy << " on " << ranks << " ranks";
      EXPECT_TRUE(ReadFile(dir_ / out / "model.pt") == ReadFile(dir_ / "alone" / "model.pt"))
          << strategy << " on " << ranks << " ranks: model.pt differs";
      // Rank 0 alone writes the results.
      EXPECT_TRUE(std::filesystem::exists(dir_ / out / "config.toml"));
    }
  }
}

TEST_F(DistributedSimulationTest, ARankThatFailsEndsTheJobWithItsError) {
  CommandResult first = Simulate("", "taken", "");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  // Without --overwrite rank 0 refuses the folder; rank 1 must not wait for it forever.
  CommandResult run =
      RunShell(Mpirun(2) + " " + TRIBUTARY_BINARY + " simulate " + (dir_ / "config.toml").string() +
               " --out " + (dir_ / "taken").string());
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("already holds a run"), std::string::npos) << run.output;

  CommandResult secure = Simulate(Mpirun(2), "secure",
                                  "--set secagg.enabled=true --set compress.uplink=fp32 "
                                  "--set compress.error_feedback=false "
                                  "--set strategy.weighting=uniform --set data.client_holdout=0");
  EXPECT_EQ(secure.exit_code, 2) << secure.output;
  EXPECT_NE(secure.output.find("secure aggregation does not run over several ranks yet"),
            std::string::npos)
      << secure.output;
}
#else
TEST_F(DistributedSimulationTest, ABuildWithoutMpiRefusesToRunUnderMpirun) {
  CommandResult run = Simulate("OMPI_COMM_WORLD_SIZE=2", "out", "");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("this build has no MPI"), std::string::npos) << run.output;
}
#endif

}  // namespace
}  // namespace tributary
