// Deployment benchmark: the real coordinator service and real clients over gRPC on loopback,
// in one process (plain text).
//   1. A ~1 GiB model (MLP) sent from the server to one client (a full fp32 resync) and a ~1 GiB
//      update received back, against a raw TCP loopback stream of the same size measured in the
//      same run.
//   2. The per-round overhead with 10 clients and a tiny model: a round's wall time on the
//      server, next to the clients' training time within it.
// Usage: deploy_bench [GIB (default 1)] [ROUNDS for part 2 (default 30)]
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/config_loader.h"
#include "common/allocator_tuning.h"
#include "deploy/client_tokens.h"
#include "deploy/coordinator.h"
#include "deploy/coordinator_service.h"
#include "deploy/federated_client.h"
#include "deploy/server_limits.h"
#include "deploy/transport_settings.h"

namespace tributary {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const absl::Status& status) {
  std::fprintf(stderr, "deploy_bench: %s\n", status.ToString().c_str());
  std::fflush(nullptr);
  // Client and server threads are still running: skip the static destructors they would race.
  std::_Exit(1);
}

// Seconds to stream `bytes` through a loopback TCP connection in 1 MiB writes.
double RawTcpSeconds(size_t bytes) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(listener, 1) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    Die(absl::InternalError("raw TCP baseline: cannot listen"));
  }
  std::vector<char> out(1 << 20, 'x');
  const auto start = Clock::now();
  std::thread sender([&] {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return;
    for (size_t sent = 0; sent < bytes;) {
      const ssize_t n = write(s, out.data(), std::min(out.size(), bytes - sent));
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    close(s);
  });
  const int connection = accept(listener, nullptr, nullptr);
  std::vector<char> in(1 << 20);
  size_t received = 0;
  while (received < bytes) {
    const ssize_t n = read(connection, in.data(), in.size());
    if (n <= 0) break;
    received += static_cast<size_t>(n);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  sender.join();
  close(connection);
  close(listener);
  return seconds;
}

struct Run {
  std::vector<RoundMetrics> rounds;
  // Per round, the server's view of its last complete upload: bytes, seconds from header to last
  // byte, seconds to validate, decode and aggregate it.
  std::vector<int64_t> upload_bytes;
  std::vector<double> upload_receive_seconds, upload_submit_seconds;
  std::vector<std::vector<FederatedClient::RoundLog>> clients;
};

// Serves `config_toml` to `num_clients` in-process clients until the run ends.
Run RunFederation(const std::string& config_toml, int num_clients) {
  absl::StatusOr<LoadedConfig> loaded = ParseExperimentConfig(config_toml, "deploy_bench", {});
  if (!loaded.ok()) Die(loaded.status());
  std::string tokens_text;
  for (int c = 0; c < num_clients; ++c)
    absl::StrAppend(&tokens_text, c, " bench-token-", c, "-0123456789\n");
  absl::StatusOr<ClientTokens> tokens = ClientTokens::Parse(tokens_text, num_clients);
  if (!tokens.ok()) Die(tokens.status());
  CoordinatorOptions options{.quorum = 1};
  absl::StatusOr<std::unique_ptr<Coordinator>> coordinator =
      Coordinator::Create(loaded->config, loaded->resolved_toml, options, "");
  if (!coordinator.ok()) Die(coordinator.status());
  const ServerLimits limits;
  CoordinatorService service(**coordinator, *tokens, limits);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  ApplyTransportSettings(builder);
  ApplyServerLimits(limits, num_clients, builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) Die(absl::UnavailableError("cannot listen"));

  std::vector<std::unique_ptr<FederatedClient>> clients;
  std::vector<std::thread> threads;
  for (int c = 0; c < num_clients; ++c) {
    FederatedClientOptions client;
    client.server_address = absl::StrCat("127.0.0.1:", port);
    client.client_id = c;
    client.token = absl::StrCat("bench-token-", c, "-0123456789");
    client.tls.insecure = true;
    client.data_config = loaded->config;
    client.resolve_config = [](const std::string& toml) -> absl::StatusOr<ExperimentConfig> {
      absl::StatusOr<LoadedConfig> parsed = ParseExperimentConfig(toml, "server", {});
      if (!parsed.ok()) return parsed.status();
      return parsed->config;
    };
    clients.push_back(std::make_unique<FederatedClient>(std::move(client)));
  }
  for (auto& client : clients) {
    threads.emplace_back([&client] {
      if (absl::Status status = client->Run(); !status.ok()) Die(status);
    });
  }
  Run run;
  absl::Status status = (*coordinator)->Run([&](const RoundMetrics& m, const Checkpoint&) {
    run.rounds.push_back(m);
    const CoordinatorCounters& counters = (*coordinator)->counters();
    run.upload_bytes.push_back(counters.last_upload_bytes);
    run.upload_receive_seconds.push_back(counters.last_upload_receive_seconds);
    run.upload_submit_seconds.push_back(counters.last_upload_submit_seconds);
    return absl::OkStatus();
  });
  if (!status.ok()) Die(status);
  for (auto& thread : threads) thread.join();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  for (auto& client : clients) run.clients.push_back(client->rounds());
  return run;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0.0 : values[values.size() / 2];
}

void TransferBenchmark(double gib) {
  // An MLP of ~gib GiB: 784 -> hidden -> hidden -> 10 has hidden^2 + 796 hidden + 10 parameters.
  const double parameters = gib * (1 << 30) / 4;
  const int64_t hidden =
      static_cast<int64_t>((-796.0 + std::sqrt(796.0 * 796.0 + 4.0 * parameters)) / 2.0);
  const std::string toml = absl::StrCat(R"(
[run]
name = "deploy_bench_transfer"
seed = 1
rounds = 2
clients_per_round = 1
eval_every = 100
[data]
partition = "iid"
num_clients = 1
max_train_examples = 4
max_test_examples = 8
[model]
name = "mlp"
hidden = )",
                                        hidden, R"(
[train]
batch_size = 4
epochs = 1
# Decay moves every weight, so round 2 sends the whole model (a full resync).
weight_decay = 0.0001
[compress]
downlink_history = 1
[compute]
workers = 1
)");
  std::printf("part 1: one client, MLP with %lld hidden units (%.3f GiB fp32)\n",
              static_cast<long long>(hidden),
              (static_cast<double>(hidden) * hidden + 796.0 * hidden + 10) * 4 / (1 << 30));
  std::fflush(stdout);
  const Run run = RunFederation(toml, 1);
  if (run.clients.at(0).size() != 2) {
    Die(absl::InternalError(absl::StrCat("the client took part in ", run.clients.at(0).size(),
                                         " of 2 rounds (see the log above)")));
  }
  // Round 1 starts from the seeded model (a tiny catch-up); round 2 downloads the whole model.
  const FederatedClient::RoundLog& r2 = run.clients.at(0).at(1);
  const double raw = RawTcpSeconds(static_cast<size_t>(r2.download_bytes));
  std::printf("download: %lld bytes in %.3f s = %.2f GB/s (then %.3f s to check and apply)\n",
              static_cast<long long>(r2.download_bytes), r2.download_seconds,
              r2.download_bytes / r2.download_seconds / 1e9, r2.apply_seconds);
  for (const FederatedClient::RoundLog& r : run.clients.at(0)) {
    std::printf(
        "upload (round %d): %lld bytes sent in %.3f s = %.2f GB/s; the server's reply "
        "(after decoding and aggregating) %.3f s after the first byte\n",
        r.round, static_cast<long long>(r.upload_bytes), r.upload_send_seconds,
        r.upload_bytes / r.upload_send_seconds / 1e9, r.upload_seconds);
  }
  for (size_t r = 0; r < run.rounds.size(); ++r) {
    if (run.upload_bytes[r] == 0) continue;
    std::printf(
        "upload as the server received it (round %d): %lld bytes in %.3f s = %.2f GB/s; "
        "validated, decoded and aggregated in %.3f s\n",
        run.rounds[r].round, static_cast<long long>(run.upload_bytes[r]),
        run.upload_receive_seconds[r], run.upload_bytes[r] / run.upload_receive_seconds[r] / 1e9,
        run.upload_submit_seconds[r]);
  }
  std::printf("raw TCP loopback, same bytes: %.3f s = %.2f GB/s; download/raw ratio %.2f\n", raw,
              r2.download_bytes / raw / 1e9, raw / r2.download_seconds);
}

void RoundOverheadBenchmark(int rounds) {
  const std::string toml = absl::StrCat(R"(
[run]
name = "deploy_bench_rounds"
seed = 1
rounds = )",
                                        rounds, R"(
clients_per_round = 10
eval_every = 100000
[data]
partition = "iid"
num_clients = 10
max_train_examples = 10
max_test_examples = 10
[model]
name = "mlp"
hidden = 8
[train]
batch_size = 1
epochs = 1
[compute]
workers = 1
)");
  std::printf("part 2: 10 clients, MLP with 8 hidden units, %d rounds\n", rounds);
  std::fflush(stdout);
  const Run run = RunFederation(toml, 10);
  std::vector<double> walls, slowest_train, total_train;
  // Round 1 pays connection set-up; the last round pays the evaluation.
  for (size_t r = 1; r + 1 < run.rounds.size(); ++r) {
    walls.push_back(run.rounds[r].wall_seconds);
    double slowest = 0.0, total = 0.0;
    for (const auto& client : run.clients) {
      for (const auto& log : client) {
        if (log.round != run.rounds[r].round) continue;
        slowest = std::max(slowest, log.train_seconds);
        total += log.train_seconds;
      }
    }
    slowest_train.push_back(slowest);
    total_train.push_back(total);
  }
  // Clients on their own machines would train in parallel (overhead: wall - slowest); here
  // they share this machine's cores, so their training takes at least total / cores.
  const double cores = std::max(1u, std::thread::hardware_concurrency());
  std::vector<double> parallel_overhead, shared_overhead;
  for (size_t i = 0; i < walls.size(); ++i) {
    parallel_overhead.push_back(walls[i] - slowest_train[i]);
    shared_overhead.push_back(walls[i] - std::max(slowest_train[i], total_train[i] / cores));
  }
  std::printf(
      "round wall time: median %.2f ms over %zu rounds; clients' training: slowest "
      "%.2f ms, all together %.2f ms on %.0f cores\n",
      Median(walls) * 1e3, walls.size(), Median(slowest_train) * 1e3, Median(total_train) * 1e3,
      cores);
  std::printf(
      "overhead: wall - slowest training = %.2f ms; wall - max(slowest, total / cores) "
      "= %.2f ms (medians)\n",
      Median(parallel_overhead) * 1e3, Median(shared_overhead) * 1e3);
}

}  // namespace
}  // namespace tributary

int main(int argc, char** argv) {
  tributary::KeepFreedMemoryForReuse();  // as the tributary binary does
  const double gib = argc > 1 ? std::atof(argv[1]) : 1.0;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 30;
  if (!(gib > 0.0) || rounds < 3) {
    std::fprintf(stderr, "usage: deploy_bench [GIB > 0] [ROUNDS >= 3]\n");
    return 2;
  }
  tributary::RoundOverheadBenchmark(rounds);
  tributary::TransferBenchmark(gib);
  return 0;
}
