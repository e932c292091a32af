// The chaos test (slow label; docs/reliability.md): 30 rounds with 6 client processes on
// loopback while a driver SIGKILLs and SIGSTOPs random clients at random moments (killed ones
// restart, stopped ones continue) and SIGKILLs the server twice (it resumes from its
// checkpoint). Every round must end in metrics.jsonl exactly once, and the final model must be
// exactly the one `tributary simulate --replay` computes from the recorded participation: what
// was aggregated is what the record says, and nothing partial or late got in.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "deploy/test_process.h"

namespace tributary {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kClients = 6;
constexpr int kRounds = 30;

// A port nothing listens on now (the server restarts on the same one).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return 0;
  }
  const int port = ntohs(address.sin_port);
  close(fd);
  return port;
}

std::vector<nlohmann::json> ReadLines(const fs::path& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

class ChaosTest : public ::testing::TestWithParam<int> {};

TEST_P(ChaosTest, KilledAndHungProcessesLeaveExactlyTheRecordedModel) {
  const int seed = GetParam();
  const fs::path dir =
      fs::temp_directory_path() / absl::StrCat("tributary_chaos_", getpid(), "_", seed);
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    std::ofstream tokens(dir / "tokens.txt");
    for (int c = 0; c < kClients; ++c) tokens << c << " chaos-token-0123456789-" << c << "\n";
  }
  const std::string config = std::string(TRIBUTARY_SOURCE_DIR) + "/configs/deploy/loopback.toml";
  // No client state across rounds (a killed client loses it): no error feedback.
  const std::vector<std::string> overrides = {"--set", absl::StrCat("data.num_clients=", kClients),
                                              "--set", "run.clients_per_round=4",
                                              "--set", absl::StrCat("run.rounds=", kRounds),
                                              "--set", "compress.error_feedback=false",
                                              "--set", "run.eval_every=10"};
  const std::string port = std::to_string(FreePort());
  ASSERT_NE(port, "0");
  int server_starts = 0;
  auto start_server = [&](bool resume) {
    std::vector<std::string> args = {"server",
                                     config,
                                     "--out",
                                     (dir / "srv").string(),
                                     "--tokens",
                                     (dir / "tokens.txt").string(),
                                     "--insecure",
                                     "--listen",
                                     "127.0.0.1:" + port,
                                     "--round-deadline",
                                     "20",
                                     "--liveness-timeout",
                                     "2"};
    if (resume) args.push_back("--resume");
    args.insert(args.end(), overrides.begin(), overrides.end());
    return std::make_unique<Process>(args, dir / absl::StrCat("server", server_starts++, ".log"));
  };
  std::vector<int> client_starts(kClients, 0);
  auto start_client = [&](int c) {
    std::vector<std::string> args = {"client",
                                     "--server",
                                     "127.0.0.1:" + port,
                                     "--client-id",
                                     std::to_string(c),
                                     "--token",
                                     absl::StrCat("chaos-token-0123456789-", c),
                                     "--data-config",
                                     config,
                                     "--insecure",
                                     "--set",
                                     absl::StrCat("data.num_clients=", kClients)};
    return std::make_unique<Process>(
        args, dir / absl::StrCat("client", c, "_", client_starts[c]++, ".log"));
  };

  std::unique_ptr<Process> server = start_server(false);
  std::vector<std::unique_ptr<Process>> clients;
  for (int c = 0; c < kClients; ++c) clients.push_back(start_client(c));

  // The driver: every 0.3-2 s a random client is killed (restarted 0.5-3 s later) or stopped
  // (continued 0.5-6 s later); after rounds 8 and 18 are recorded, the server is killed and
  // resumed 1 s later.
  std::mt19937 rng(seed);
  auto uniform = [&](double lo, double hi) {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(std::uniform_real_distribution<double>(lo, hi)(rng)));
  };
  std::vector<Clock::time_point> restart_at(kClients, Clock::time_point::max());
  std::vector<Clock::time_point> continue_at(kClients, Clock::time_point::max());
  std::vector<int> server_kills_after = {8, 18};
  int kills = 0, stops = 0, server_kills = 0;
  auto next_action = Clock::now() + uniform(0.3, 2.0);
  const auto give_up = Clock::now() + 20min;
  int exit_code = -1;
  while (Clock::now() < give_up) {
    if (std::optional<int> code = server->Poll()) {
      exit_code = *code;
      break;
    }
    const auto now = Clock::now();
    for (int c = 0; c < kClients; ++c) {
      if (now >= restart_at[c]) {
        clients[c] = start_client(c);
        restart_at[c] = Clock::time_point::max();
      }
      if (now >= continue_at[c]) {
        clients[c]->Signal(SIGCONT);
        continue_at[c] = Clock::time_point::max();
      }
    }
    if (!server_kills_after.empty() &&
        static_cast<int>(ReadLines(dir / "srv" / "metrics.jsonl").size()) >=
            server_kills_after.front()) {
      server_kills_after.erase(server_kills_after.begin());
      server->Kill();
      ++server_kills;
      std::this_thread::sleep_for(1s);
      server = start_server(true);
      continue;
    }
    if (now >= next_action) {
      const int c = std::uniform_int_distribution<int>(0, kClients - 1)(rng);
      const bool busy =
          restart_at[c] != Clock::time_point::max() || continue_at[c] != Clock::time_point::max();
      if (!busy && std::bernoulli_distribution(0.5)(rng)) {
        clients[c]->Kill();
        ++kills;
        restart_at[c] = now + uniform(0.5, 3.0);
      } else if (!busy) {
        clients[c]->Signal(SIGSTOP);
        ++stops;
        continue_at[c] = now + uniform(0.5, 6.0);
      }
      next_action = now + uniform(0.3, 2.0);
    }
    std::this_thread::sleep_for(50ms);
  }
  for (auto& client : clients) client->Signal(SIGCONT);
  std::printf("chaos seed %d: %d client kills, %d client stops, %d server kills\n", seed, kills,
              stops, server_kills);
  std::fflush(stdout);  // not again by the forked replay below
  ASSERT_EQ(exit_code, 0) << server->Output();
  EXPECT_EQ(server_kills, 2);

  // Every round ended once (completed, or with no accepted update: the model unchanged).
  const std::vector<nlohmann::json> rounds = ReadLines(dir / "srv" / "metrics.jsonl");
  ASSERT_EQ(rounds.size(), static_cast<size_t>(kRounds));
  int disturbed = 0;
  std::map<int, int> rounds_by_accepted;
  for (int r = 0; r < kRounds; ++r) {
    EXPECT_EQ(rounds[r]["round"], r + 1);
    EXPECT_EQ(rounds[r]["clients"], rounds[r]["accepted_clients"].size()) << rounds[r];
    disturbed += rounds[r]["clients"].get<int>() < 4;
    rounds_by_accepted[rounds[r]["clients"].get<int>()]++;
  }
  std::printf("chaos seed %d: %d of %d rounds aggregated fewer than 4 updates; rounds by updates:",
              seed, disturbed, kRounds);
  for (const auto& [accepted, count] : rounds_by_accepted) std::printf(" %d:%d", accepted, count);
  std::printf("\n");
  std::fflush(stdout);
  EXPECT_GT(disturbed, 0) << "the chaos never reached a round";

  // The recorded participation, replayed in simulation, gives the same model bit for bit.
  std::vector<std::string> replay = {"simulate", config,
                                     "--out",    (dir / "replay").string(),
                                     "--replay", (dir / "srv" / "metrics.jsonl").string()};
  replay.insert(replay.end(), overrides.begin(), overrides.end());
  Process simulate(replay, dir / "replay.log");
  ASSERT_EQ(simulate.Wait(600s), 0) << simulate.Output();
  const absl::StatusOr<std::string> deployed = ReadFile((dir / "srv" / "model.pt").string());
  const absl::StatusOr<std::string> replayed = ReadFile((dir / "replay" / "model.pt").string());
  ASSERT_TRUE(deployed.ok() && replayed.ok());
  EXPECT_TRUE(*deployed == *replayed) << "the deployed model is not the recorded rounds' model";
  if (!HasFailure()) fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Seeds, ChaosTest, ::testing::Values(1, 2, 3));

}  // namespace
}  // namespace tributary
