// Runs the real tributary binary: bad input must end with a clear message and exit code 2,
// never a crash.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/test_shell.h"

namespace tributary {
namespace {

CommandResult RunTributary(const std::string& args) {
  return RunShell(std::string(TRIBUTARY_BINARY) + " " + args);
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

// Central DP on kValid: a valid privacy section that cases then spoil.
const std::string kPrivate =
    "--set privacy.mode=central --set privacy.noise_multiplier=1 --set privacy.clip_norm=1";

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
      {kValid, kPrivate + " --set privacy.noise_multiplier=-1",
       "noise_multiplier must be positive"},
      {kValid, kPrivate + " --set privacy.noise_multiplier=0", "noise_multiplier must be positive"},
      {kValid, kPrivate + " --set privacy.clip_norm=0", "clip_norm must be positive"},
      {kValid, kPrivate + " --set privacy.delta=1", "delta must be in (0, 1)"},
      {kValid, kPrivate + " --set privacy.delta=0", "delta must be in (0, 1)"},
      {kValid, kPrivate + " --set privacy.target_epsilon=0.01", "already exceeded by round 1"},
      {kValid, kPrivate + " --set run.sampling=fixed", "Poisson sampling"},
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
  std::ifstream state(std::filesystem::path(out) / "run_state.json");
  EXPECT_EQ(nlohmann::json::parse(state)["status"], "finished");
  CommandResult second = RunTributary("simulate " + config + " --out " + out);
  EXPECT_EQ(second.exit_code, 2) << second.output;
  EXPECT_NE(second.output.find("--overwrite"), std::string::npos) << second.output;

  // tributary plot of that run, and its bad input.
  const std::string figure = (dir_ / "figures" / "accuracy.svg").string();
  CommandResult plot = RunTributary("plot " + out + " " + out +
                                    "/metrics.jsonl --label a --label b"
                                    " --x bytes_total --y test_accuracy --out " +
                                    figure);
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  std::ifstream svg_file(figure);
  const std::string svg((std::istreambuf_iterator<char>(svg_file)), {});
  EXPECT_NE(svg.find(">a<"), std::string::npos);
  EXPECT_NE(svg.find(">b<"), std::string::npos);
  EXPECT_NE(svg.find(">test accuracy (%)<"), std::string::npos);
  for (const std::string& bad : {"plot " + out + " --out " + figure + " --x epoch",
                                 "plot " + out + " --out " + figure + " --label a --label b",
                                 "plot " + out + " --out " + figure + " --y test_perplexity",
                                 "plot " + out + " --out " + (dir_ / "figure.jpg").string(),
                                 "plot " + (dir_ / "absent").string() + " --out " + figure}) {
    CommandResult r = RunTributary(bad);
    EXPECT_EQ(r.exit_code, 2) << bad << "\n" << r.output;
    EXPECT_NE(r.output.find("error: "), std::string::npos) << r.output;
  }
}

TEST_F(CliTest, PrivacyBudgetEndsTheRunEvaluatedAfterItsLastRound) {
  // q = 2 / 4, z = 2: epsilon 2.06 after 2 rounds, 2.47 after 3.
  const std::string config = WriteConfig(kValid);
  const std::string out = (dir_ / "private").string();
  CommandResult r =
      RunTributary("simulate " + config + " --out " + out + " " + kPrivate +
                   " --set privacy.noise_multiplier=2 --set privacy.target_epsilon=2.3"
                   " --set run.rounds=10 --set run.eval_every=100");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("privacy budget: round 3 would bring epsilon to 2.46"), std::string::npos)
      << r.output;
  std::ifstream metrics(std::filesystem::path(out) / "metrics.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(metrics, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[0]["test_accuracy"].is_null());
  EXPECT_FALSE(lines[1]["test_accuracy"].is_null()) << "the last round is evaluated";
  EXPECT_NEAR(lines[1]["dp_epsilon"].get<double>(), 2.0574, 1e-4);
}

TEST_F(CliTest, PrivacyCommandAccountsBothWays) {
  CommandResult r = RunTributary(
      "privacy --sampling-rate 1 --noise-multiplier 4.530877117 --rounds 1 --delta 1e-6");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("epsilon 1 at delta 1e-06 after 1 rounds"), std::string::npos)
      << r.output;
  r = RunTributary("privacy --sampling-rate 1 --target-epsilon 1 --rounds 1 --delta 1e-6");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("noise multiplier 4.5308"), std::string::npos) << r.output;
  // From a run's config: q = K / N = 2 / 4, its rounds, noise multiplier and delta.
  const std::string config = WriteConfig(std::string(kValid) +
                                         "[privacy]\nmode = \"central\"\nnoise_multiplier = 1.0\n"
                                         "clip_norm = 1.0\n");
  r = RunTributary("privacy --config " + config);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("after 1 rounds (q 0.5, noise multiplier 1;"), std::string::npos)
      << r.output;
  for (const char* bad : {"--sampling-rate 0 --noise-multiplier 1 --rounds 5",
                          "--sampling-rate 0.1 --noise-multiplier -1 --rounds 5",
                          "--sampling-rate 0.1 --noise-multiplier 1 --target-epsilon 2 --rounds 5",
                          "--sampling-rate 0.1 --noise-multiplier 1 --rounds 5 --delta 1",
                          "--sampling-rate 0.1 --noise-multiplier 1"}) {
    r = RunTributary(std::string("privacy ") + bad);
    EXPECT_EQ(r.exit_code, 2) << bad << "\n" << r.output;
    EXPECT_NE(r.output.find("error: "), std::string::npos) << r.output;
  }
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
