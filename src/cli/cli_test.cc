// Runs the real tributary binary: bad input must end with a clear message and exit code 2,
// never a crash.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace tributary {
namespace {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CommandResult RunTributary(const std::string& args) {
  const std::string command = std::string(TRIBUTARY_BINARY) + " " + args + " 2>&1";
  CommandResult result;
  std::FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("tributary_cli_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteConfig(const std::string& text) {
    const std::string path = (dir_ / "config.toml").string();
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path dir_;
};

constexpr char kValid[] = R"(
[run]
rounds = 1
clients_per_round = 2
[data]
partition = "iid"
num_clients = 4
max_train_examples = 400
max_test_examples = 200
[model]
name = "mlp"
hidden = 16
)";

TEST_F(CliTest, BadInputGivesAClearErrorAndExitCode2) {
  struct Case {
    std::string config;
    std::string extra;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"[run]\nrounds = 1\n", "", "missing required config key"},
      {kValid, "--set model.name=resnet", "unknown model 'resnet'"},
      {kValid, "--set run.clients_per_round=5", "must be between 1 and data.num_clients"},
      {kValid, "--set data.dir=/nonexistent", "dataset-fashion-mnist"},
      {kValid, "--set run.rounds=many", "must be an integer"},
      {"this is [not toml", "", "invalid TOML"},
  };
  for (const Case& c : cases) {
    const std::string config = WriteConfig(c.config);
    CommandResult r = RunTributary("simulate " + config + " --out " + (dir_ / "out").string() +
                                   " --overwrite " + c.extra);
    EXPECT_EQ(r.exit_code, 2) << c.extra << "\n" << r.output;
    EXPECT_NE(r.output.find("error: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << r.output;
  }
}

TEST_F(CliTest, RunWritesResultsAndRefusesToOverwriteThem) {
  const std::string config = WriteConfig(kValid);
  const std::string out = (dir_ / "run").string();
  CommandResult first = RunTributary("simulate " + config + " --out " + out);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("round 1/1"), std::string::npos) << first.output;
  for (const char* file : {"metrics.jsonl", "model.pt", "config.toml"}) {
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(out) / file)) << file;
  }
  CommandResult second = RunTributary("simulate " + config + " --out " + out);
  EXPECT_EQ(second.exit_code, 2) << second.output;
  EXPECT_NE(second.output.find("--overwrite"), std::string::npos) << second.output;
}

TEST_F(CliTest, HelpDocumentsConfigKeys) {
  CommandResult r = RunTributary("simulate --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* key : {"--set", "--out", "--overwrite", "train.lr", "data.partition"}) {
    EXPECT_NE(r.output.find(key), std::string::npos) << key;
  }
}

}  // namespace
}  // namespace tributary
