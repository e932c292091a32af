// The cost of one secure-aggregation round against the cohort size: bytes each client sends
// and receives per stage (next to a plain fp32 upload of the same vector), each client's and
// the server's compute time per stage, with 10% of the clients dropping after they shared
// their keys (so the server also removes dropped clients' pairwise masks).
//   secagg_bench [VECTOR_LENGTH=184586] [COHORTS=10,100,1000]
// One run per cohort; times are this machine's (ChaCha20 throughput dominates).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "secagg/secagg_protocol.h"

namespace tributary {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Costs {
  double up_bytes[4] = {};    // per client, mean over the clients that sent the stage
  double down_bytes[4] = {};  // per client: keys, shares, survivor list
  double client_seconds[4] = {};
  double server_seconds = 0.0;
};

// SecAgg+'s neighbourhood: O(log n) neighbours, threshold a little above half.
SecAggParams ParamsFor(int n, size_t length) {
  SecAggParams p{.num_clients = n, .graph_seed = 1, .vector_length = length, .input_bits = 16};
  p.neighbors = n <= 20 ? 0 : std::min(n - 1, 4 * static_cast<int>(std::ceil(std::log2(n))));
  const int k = p.Degree();
  p.threshold = k / 2 + 1 + k / 10;
  return p;
}

int Run(size_t length, const std::vector<int>& cohorts) {
  std::printf("vector of %zu values (plain fp32 upload: %zu bytes)\n", length, 4 * length);
  std::printf("%6s %4s %4s | %12s %12s %12s %12s %12s | %10s %10s %10s %10s | %10s\n", "n", "k",
              "t", "up keys B", "up shares B", "up masked B", "up unmask B", "down B", "c:share s",
              "c:mask s", "c:unmask s", "c:total s", "server s");
  for (int n : cohorts) {
    const SecAggParams params = ParamsFor(n, length);
    if (absl::Status valid = ValidateSecAggParams(params); !valid.ok()) {
      std::fprintf(stderr, "n = %d: %s\n", n, std::string(valid.message()).c_str());
      return 1;
    }
    std::mt19937 rng(n);
    std::vector<uint32_t> input(length);
    for (uint32_t& v : input) v = rng() % (1u << params.input_bits);
    Costs costs;
    double server = 0.0;
    auto start = Clock::now();
    SecAggServer srv = *SecAggServer::Create(params);
    std::vector<SecAggClient> clients;
    for (int c = 0; c < n; ++c) clients.push_back(*SecAggClient::Create(params, c));
    server += Since(start);
    for (int c = 0; c < n; ++c) {
      const AdvertisedKeys keys = clients[c].AdvertiseKeys();
      costs.up_bytes[0] += keys.WireBytes();
      start = Clock::now();
      if (!srv.ReceiveKeys(keys).ok()) return 1;
      server += Since(start);
    }
    start = Clock::now();
    if (!srv.CloseAdvertising().ok()) return 1;
    server += Since(start);
    for (int c = 0; c < n; ++c) {
      const std::vector<AdvertisedKeys> keys = srv.KeysFor(c);
      for (const auto& k : keys) costs.down_bytes[0] += k.WireBytes();
      start = Clock::now();
      auto shares = clients[c].ShareKeys(keys);
      costs.client_seconds[1] += Since(start);
      if (!shares.ok()) return 1;
      for (const auto& s : *shares) costs.up_bytes[1] += s.WireBytes();
      start = Clock::now();
      if (!srv.ReceiveShares(c, *shares).ok()) return 1;
      server += Since(start);
    }
    start = Clock::now();
    if (!srv.CloseSharing().ok()) return 1;
    server += Since(start);
    const int dropping = n / 10;  // the last 10% drop before sending their masked input
    for (int c = 0; c < n - dropping; ++c) {
      const std::vector<EncryptedShare> shares = srv.SharesFor(c);
      for (const auto& s : shares) costs.down_bytes[1] += s.WireBytes();
      start = Clock::now();
      auto masked = clients[c].MaskInput(shares, input);
      costs.client_seconds[2] += Since(start);
      if (!masked.ok()) return 1;
      costs.up_bytes[2] += masked->WireBytes();
      start = Clock::now();
      if (!srv.ReceiveMaskedInput(*masked).ok()) return 1;
      server += Since(start);
    }
    start = Clock::now();
    auto survivors = srv.CloseMasking();
    server += Since(start);
    if (!survivors.ok()) return 1;
    for (uint32_t c : *survivors) {
      costs.down_bytes[2] += 4.0 * survivors->size();
      start = Clock::now();
      auto shares = clients[c].Unmask(*survivors);
      costs.client_seconds[3] += Since(start);
      if (!shares.ok()) return 1;
      costs.up_bytes[3] += shares->WireBytes();
      start = Clock::now();
      if (!srv.ReceiveUnmaskingShares(*shares).ok()) return 1;
      server += Since(start);
    }
    start = Clock::now();
    auto sum = srv.Finish();
    server += Since(start);
    if (!sum.ok()) {
      std::fprintf(stderr, "n = %d: %s\n", n, std::string(sum.status().message()).c_str());
      return 1;
    }
    const double senders = n - dropping;
    const double down = (costs.down_bytes[0] + costs.down_bytes[1] + costs.down_bytes[2]) / n;
    const double client_total = (costs.client_seconds[1] / n) +
                                (costs.client_seconds[2] + costs.client_seconds[3]) / senders;
    std::printf(
        "%6d %4d %4d | %12.0f %12.0f %12.0f %12.0f %12.0f | %10.4f %10.4f %10.4f %10.4f | "
        "%10.3f\n",
        n, params.Degree(), params.threshold, costs.up_bytes[0] / n, costs.up_bytes[1] / n,
        costs.up_bytes[2] / senders, costs.up_bytes[3] / senders, down, costs.client_seconds[1] / n,
        costs.client_seconds[2] / senders, costs.client_seconds[3] / senders, client_total, server);
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
