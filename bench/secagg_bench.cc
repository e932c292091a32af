// The cost of one secure-aggregation round against the cohort size, as a run's round driver
// (secagg/secagg_round.h) incurs it: the bytes of each stage's messages in their wire format
// (next to a plain fp32 upload of the same vector), each client's and the server's compute time
// per stage, with 10% of the clients dropping after they shared their keys (so the server also
// removes dropped clients' pairwise masks). Neighbours and threshold are a run's defaults.
//   secagg_bench [VECTOR_LENGTH=184586] [COHORTS=10,100,1000]
// One run per cohort; times are this machine's (ChaCha20 throughput dominates).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "secagg/secagg_round.h"

namespace tributary {
namespace {

// SecAgg+'s neighbourhood as a run resolves it (secagg.neighbors = 0, secagg.threshold = 0).
SecAggSpec Spec() { return {.enabled = true, .bits = 16, .clip_range = 1.0}; }

struct Costs {
  std::array<double, kSecAggStages> client_seconds{};  // summed over the clients of the stage
  std::array<int, kSecAggStages> clients{};
};

int Run(size_t length, const std::vector<int>& cohorts) {
  std::printf("vector of %zu values (plain fp32 upload: %zu bytes)\n", length, 4 * length);
  std::printf("%6s %4s %4s | %12s %12s %12s %12s %12s | %10s %10s %10s %10s | %10s\n", "n", "k",
              "t", "up keys B", "up shares B", "up masked B", "up unmask B", "down B", "c:share s",
              "c:mask s", "c:unmask s", "c:total s", "server s");
  for (int n : cohorts) {
    std::vector<uint32_t> cohort(n);
    for (int c = 0; c < n; ++c) cohort[c] = static_cast<uint32_t>(c);
    auto server = SecAggRoundServer::Create(Spec(), cohort, length, /*graph_seed=*/1);
    if (!server.ok()) {
      std::fprintf(stderr, "n = %d: %s\n", n, std::string(server.status().message()).c_str());
      return 1;
    }
    std::mt19937 rng(n);
    std::vector<float> input(length);
    for (float& v : input) v = std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng);
    std::vector<SecAggRoundClient> clients;
    for (int c = 0; c < n; ++c) {
      clients.push_back(*SecAggRoundClient::Create(Spec(), n, c, length, 1));
    }
    Costs costs;
    SecAggRoundServer& srv = **server;
    auto stage_failed = [&](const absl::Status& status) {
      std::fprintf(stderr, "n = %d: %s\n", n, std::string(status.message()).c_str());
      return 1;
    };
    for (int c = 0; c < n; ++c) {
      if (absl::Status s = srv.Receive(SecAggStage::kAdvertise, c, clients[c].Advertise());
          !s.ok()) {
        return stage_failed(s);
      }
    }
    if (absl::Status s = srv.Close(SecAggStage::kAdvertise); !s.ok()) return stage_failed(s);
    for (int c = 0; c < n; ++c) {
      auto shares = clients[c].Share(*srv.Reply(SecAggStage::kAdvertise, c));
      if (!shares.ok()) return stage_failed(shares.status());
      if (absl::Status s = srv.Receive(SecAggStage::kShare, c, *shares); !s.ok()) {
        return stage_failed(s);
      }
    }
    if (absl::Status s = srv.Close(SecAggStage::kShare); !s.ok()) return stage_failed(s);
    const int dropping = n / 10;  // the last 10% drop before sending their masked input
    for (int c = 0; c < n - dropping; ++c) {
      auto masked = clients[c].Mask(*srv.Reply(SecAggStage::kShare, c), input, SymmetricKey{});
      if (!masked.ok()) return stage_failed(masked.status());
      if (absl::Status s = srv.Receive(SecAggStage::kMask, c, *masked); !s.ok()) {
        return stage_failed(s);
      }
    }
    if (absl::Status s = srv.Close(SecAggStage::kMask); !s.ok()) return stage_failed(s);
    for (int c = 0; c < n - dropping; ++c) {
      auto shares = clients[c].Unmask(*srv.Reply(SecAggStage::kMask, c));
      if (!shares.ok()) return stage_failed(shares.status());
      if (absl::Status s = srv.Receive(SecAggStage::kUnmask, c, *shares); !s.ok()) {
        return stage_failed(s);
      }
    }
    if (auto sum = srv.Finish(); !sum.ok()) return stage_failed(sum.status());
    for (int c = 0; c < n; ++c) {
      for (int st = 0; st < kSecAggStages; ++st)
        costs.client_seconds[st] += clients[c].seconds()[st];
    }
    const SecAggCosts bytes = srv.costs();
    const double senders = n - dropping;
    double server_seconds = 0.0;
    for (double s : bytes.server_seconds) server_seconds += s;
    const double down =
        static_cast<double>(bytes.bytes_down[0] + bytes.bytes_down[1] + bytes.bytes_down[2]) / n;
    const double share_s = costs.client_seconds[1] / n;
    const double mask_s = costs.client_seconds[2] / senders;
    const double unmask_s = costs.client_seconds[3] / senders;
    std::printf(
        "%6d %4d %4d | %12.0f %12.0f %12.0f %12.0f %12.0f | %10.4f %10.4f %10.4f %10.4f | "
        "%10.3f\n",
        n, srv.params().Degree(), srv.params().threshold, 1.0 * bytes.bytes_up[0] / n,
        1.0 * bytes.bytes_up[1] / n, bytes.bytes_up[2] / senders, bytes.bytes_up[3] / senders, down,
        share_s, mask_s, unmask_s, share_s + mask_s + unmask_s, server_seconds);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace tributary

int main(int argc, char** argv) {
  const size_t length = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 184586;
  std::vector<int> cohorts = {10, 100, 1000};
  if (argc > 2) {
    cohorts.clear();
    for (std::string list = argv[2]; !list.empty();) {
      const size_t comma = list.find(',');
      cohorts.push_back(std::atoi(list.substr(0, comma).c_str()));
      list = comma == std::string::npos ? "" : list.substr(comma + 1);
    }
  }
  return tributary::Run(length, cohorts);
}
