// Test fixture for the deployment tests: a real `tributary server` and real `tributary client`
// processes on 127.0.0.1 (ephemeral ports), each test in its own folder, and `tributary
// simulate` on the same config as the reference a deployed run is compared with.
#ifndef TRIBUTARY_DEPLOY_DEPLOY_TEST_FIXTURE_H_
#define TRIBUTARY_DEPLOY_DEPLOY_TEST_FIXTURE_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "deploy/test_process.h"
#include "tensor/model_state.h"

namespace tributary {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline const std::string kLoopbackConfig =
    std::string(TRIBUTARY_SOURCE_DIR) + "/configs/deploy/loopback.toml";

inline std::string Token(int client) { return absl::StrCat("loopback-test-token-", client); }

// A run's metrics.jsonl, one object per line.
inline std::vector<nlohmann::json> ReadMetrics(const fs::path& path) {
  std::vector<nlohmann::json> rounds;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) rounds.push_back(nlohmann::json::parse(line));
  return rounds;
}

inline void ExpectSameLearning(const nlohmann::json& a, const nlohmann::json& b) {
  for (const char* key : {"round", "clients", "train_loss", "test_accuracy", "test_loss"}) {
    EXPECT_EQ(a[key], b[key]) << key << " in round " << a["round"];
  }
}

class DeployTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Parametrized tests are named "Test/case": one folder each, not a tree.
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ =
        fs::temp_directory_path() / ("tributary_deploy_" + std::to_string(getpid()) + "_" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    WriteTokens(4);
  }
  void WriteTokens(int num_clients) {
    std::ofstream tokens(dir_ / "tokens.txt");
    for (int c = 0; c < num_clients; ++c) tokens << c << " " << Token(c) << "\n";
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::unique_ptr<Process> StartServer(const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> args = {"server",   config_,
                                     "--out",    (dir_ / out).string(),
                                     "--tokens", (dir_ / "tokens.txt").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto server = std::make_unique<Process>(args, dir_ / (out + ".log"));
    return server;
  }
  // The port the server wrote once it listens.
  std::string ServerPort(const std::string& out, const Process& server) {
    const fs::path port_file = dir_ / out / "server.port";
    for (int i = 0; i < 600 && !fs::exists(port_file); ++i) std::this_thread::sleep_for(50ms);
    EXPECT_TRUE(fs::exists(port_file)) << server.Output();
    absl::StatusOr<std::string> port = ReadFile(port_file.string());
    return port.ok() ? std::string(port->substr(0, port->find('\n'))) : "0";
  }
  std::unique_ptr<Process> StartClient(int id, const std::string& port,
                                       std::vector<std::string> extra) {
    std::vector<std::string> args = {"client",      "--server",         "127.0.0.1:" + port,
                                     "--client-id", std::to_string(id), "--token",
                                     Token(id),     "--data-config",    config_};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<Process>(args, dir_ / ("client" + std::to_string(id) + ".log"));
  }
  std::vector<std::unique_ptr<Process>> StartClients(int count, const std::string& port,
                                                     const std::vector<std::string>& extra) {
    std::vector<std::unique_ptr<Process>> clients;
    for (int c = 0; c < count; ++c) clients.push_back(StartClient(c, port, extra));
    return clients;
  }
  // The reference: `tributary simulate` on the same config, in dir_/sim. With `overrides`
  // (--set KEY=VALUE each), the server and the clients then run the simulation's resolved
  // config.toml.
  void Simulate(const std::vector<std::string>& overrides = {}) {
    std::vector<std::string> args = {"simulate", config_, "--out", (dir_ / "sim").string()};
    for (const std::string& o : overrides) args.insert(args.end(), {"--set", o});
    Process simulate(args, dir_ / "sim.log");
    ASSERT_EQ(simulate.Wait(300s), 0) << simulate.Output();
    if (!overrides.empty()) config_ = (dir_ / "sim" / "config.toml").string();
  }
  void ExpectSameModel() {
    absl::StatusOr<ModelState> simulated = LoadModelState((dir_ / "sim" / "model.pt").string());
    absl::StatusOr<ModelState> deployed = LoadModelState((dir_ / "srv" / "model.pt").string());
    ASSERT_TRUE(simulated.ok() && deployed.ok());
    EXPECT_EQ(simulated->Checksum(), deployed->Checksum());
  }

  fs::path dir_;
  std::string config_ = kLoopbackConfig;  // the experiment every process runs
};

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_DEPLOY_TEST_FIXTURE_H_
