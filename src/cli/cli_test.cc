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

// A run killed (SIGKILL) after some rounds, then `simulate --resume`: its metrics.jsonl (less
// wall-clock fields) and model.pt are those of a run never stopped. The killed run evaluates
// alongside the next round (compute.eval_threads), which must not change a figure either.
TEST_F(CliTest, KilledRunResumesToTheUninterruptedResults) {
  const std::string config = WriteConfig(R"(
[run]
rounds = 12
clients_per_round = 4
seed = 9
[data]
partition = "iid"
num_clients = 12
max_train_examples = 1200
max_test_examples = 300
[model]
name = "mlp"
hidden = 64
[train]
momentum = 0.9
keep_optimizer_state = true
[compress]
uplink = "topk:ratio=0.05"
error_feedback = true
)");
  const std::string whole = (dir_ / "whole").string(), cut = (dir_ / "cut").string();
  ASSERT_EQ(RunTributary("simulate " + config + " --quiet --out " + whole).exit_code, 0);
  // Killed once 3 rounds are reported; the loop ends when the process does.
  const CommandResult killed =
      RunShell(std::string("(") + TRIBUTARY_BINARY + " simulate " + config +
               " --quiet --checkpoint-every 1 --set compute.eval_threads=1 --out " + cut +
               " & p=$!; while kill -0 $p 2>/dev/null && [ \"$(cat " + cut +
               "/metrics.jsonl 2>/dev/null | wc -l)\" -lt 3 ]; do sleep 0.005; done; kill -9 $p; "
               "wait $p; echo \"exit $?\"; wc -l < " +
               cut + "/metrics.jsonl)");
  ASSERT_NE(killed.output.find("exit 137"), std::string::npos) << killed.output;
  const int reported = std::stoi(killed.output.substr(killed.output.rfind("137") + 3));
  ASSERT_GE(reported, 3);
  ASSERT_LT(reported, 12) << "the run ended before it was killed";
  // Resuming needs the run's own config; another one is refused.
  CommandResult other =
      RunTributary("simulate " + config + " --set train.lr=0.2 --out " + cut + " --resume");
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.output.find("another config"), std::string::npos) << other.output;
  CommandResult resumed =
      RunTributary("simulate " + cut + "/config.toml --out " + cut + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming after round"), std::string::npos) << resumed.output;
  const auto rows = [](const std::string& run) {
    std::vector<nlohmann::json> lines;
    std::ifstream in(run + "/metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      nlohmann::json row = nlohmann::json::parse(line);
      for (const char* wall :
           {"wall_seconds", "eval_seconds", "train_seconds_full", "train_seconds_small"}) {
        row.erase(wall);
      }
      lines.push_back(row);
    }
    return lines;
  };
  EXPECT_EQ(rows(cut), rows(whole));
  EXPECT_EQ(rows(cut).size(), 12u);
  CommandResult same = RunShell("cmp " + whole + "/model.pt " + cut + "/model.pt");
  EXPECT_EQ(same.exit_code, 0) << same.output;
  // Complete: nothing left to resume.
  EXPECT_FALSE(std::filesystem::exists(cut + "/checkpoint.bin"));
  EXPECT_NE(RunTributary("simulate " + config + " --out " + (dir_ / "none").string() + " --resume")
                .output.find("no checkpoint"),
            std::string::npos);
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
