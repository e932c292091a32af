// The load test (slow label; docs/scale.md): 1,000 remote clients on one server over loopback,
// hosted by two `tributary client --client-ids` processes (900 and 100 clients), a tiny model,
// every client in every round. In round 2 the process of 100 is killed in the middle of its
// uploads (10% of the federation disconnects at once) and started again. Every round must
// complete; the killed clients are dropped from round 2 only, and all 1,000 are back in round 3.
// The server's peak memory and thread count, and the hosting process's memory, are printed.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "deploy/deploy_test_fixture.h"
#include "deploy/test_process.h"

namespace tributary {
namespace {

constexpr int kClients = 1000;
constexpr int kKilled = 100;  // clients 900..999

// A field of /proc/PID/status ("VmHWM", "Threads") as a number (kB for memory), or -1.
int64_t ProcStatus(pid_t pid, const std::string& field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

class ManyClientsTest : public DeployTest {};

TEST_F(ManyClientsTest, ThousandRemoteClientsAndTenPercentDisconnectMidRound) {
  config_ = (dir_ / "many.toml").string();
  {
    std::ofstream config(config_);
    config << R"([run]
name = "many_clients"
seed = 11
rounds = 3
clients_per_round = 1000
eval_every = 1
[data]
dataset = "synthetic_images"
partition = "iid"
num_clients = 1000
max_train_examples = 10000
max_test_examples = 1000
[model]
name = "mlp"
hidden = 8
[train]
optimizer = "sgd"
lr = 0.05
batch_size = 10
epochs = 1
[strategy]
name = "fedavg"
[compute]
workers = 1
)";
  }
  WriteTokens(kClients);
  const std::string tokens = (dir_ / "tokens.txt").string();
  auto server = StartServer("srv", {"--insecure", "--listen", "127.0.0.1:0", "--wait-for-clients",
                                    std::to_string(kClients), "--round-deadline", "300"});
  const std::string port = ServerPort("srv", *server);
  const auto host = [&](const std::string& ids, const std::string& log,
                        std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "client",       "--server", "127.0.0.1:" + port, "--client-ids", ids,
        "--token-file", tokens,     "--data-config",     config_,        "--insecure"};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<Process>(args, dir_ / log);
  };
  const auto start = std::chrono::steady_clock::now();
  auto most = host("0-899", "most.log", {});
  // 50 kbit/s uplinks: each of these uploads (26 kB) takes about 4 s, so a round lasts that long
  // and the kill below lands in the middle of it.
  auto few = host("900-999", "few.log", {"--uplink-mbps", "0.05"});

  int64_t peak_threads = 0, server_peak_kib = 0, host_peak_kib = 0;
  const auto sample = [&] {
    peak_threads = std::max(peak_threads, ProcStatus(server->pid(), "Threads"));
    server_peak_kib = std::max(server_peak_kib, ProcStatus(server->pid(), "VmHWM"));
    host_peak_kib = std::max(host_peak_kib, ProcStatus(most->pid(), "VmHWM"));
  };
  const fs::path metrics = dir_ / "srv" / "metrics.jsonl";
  // Round 1 done: round 2's tasks go out at once; the slow clients are uploading 1.5 s later.
  const auto until = std::chrono::steady_clock::now() + 600s;
  while (ReadMetrics(metrics).empty() && !server->Poll() &&
         std::chrono::steady_clock::now() < until) {
    sample();
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(ReadMetrics(metrics).size(), 1u) << server->Output();
  std::this_thread::sleep_for(1500ms);
  few->Kill();
  few = host("900-999", "few_again.log", {});
  while (!server->Poll() && std::chrono::steady_clock::now() < until) {
    sample();
    std::this_thread::sleep_for(100ms);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(server->Wait(1s), 0) << server->Output();
  EXPECT_EQ(most->Wait(60s), 0) << most->Output();
  EXPECT_EQ(few->Wait(60s), 0) << few->Output();

  const auto rounds = ReadMetrics(metrics);
  ASSERT_EQ(rounds.size(), 3u);
  EXPECT_EQ(rounds[0]["clients"], kClients);
  EXPECT_EQ(rounds[0]["clients_dropped"], 0);
  // Round 2: whoever was killed is dropped, everyone else accepted; none lost or counted twice.
  const int dropped = rounds[1]["clients_dropped"];
  EXPECT_GE(dropped, 1);
  EXPECT_LE(dropped, kKilled);
  EXPECT_EQ(rounds[1]["clients"].get<int>() + dropped, kClients);
  EXPECT_EQ(rounds[2]["clients"], kClients);
  EXPECT_EQ(rounds[2]["clients_dropped"], 0);
  for (const auto& round : rounds) EXPECT_TRUE(round["test_accuracy"].is_number());
  std::printf(
      "1,000 clients, 3 rounds: %.1f s; round 2 dropped %d; server peak RSS %.0f MiB, "
      "peak threads %lld; the process hosting 900 clients: peak RSS %.0f MiB\n",
      seconds, dropped, server_peak_kib / 1024.0, static_cast<long long>(peak_threads),
      host_peak_kib / 1024.0);
  RecordProperty("server_peak_rss_kib", std::to_string(server_peak_kib));
  RecordProperty("server_peak_threads", std::to_string(peak_threads));
}

}  // namespace
}  // namespace tributary
