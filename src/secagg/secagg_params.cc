#include "secagg/secagg_params.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"

namespace tributary {

int SecAggParams::Degree() const {
  if (neighbors <= 0 || neighbors >= num_clients - 1) return num_clients - 1;
  return std::min(num_clients - 1, neighbors + neighbors % 2);
}

absl::Status ValidateSecAggParams(const SecAggParams& params) {
  if (params.num_clients < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "secure aggregation needs at least 2 clients a round, got ", params.num_clients));
  }
  const int k = params.Degree();
  if (params.threshold < 1 || params.threshold > k) {
    return absl::InvalidArgumentError(absl::StrCat(
        "secagg.threshold (", params.threshold, ") must be between 1 and the neighbour count (", k,
        "): a client's secrets are shared among its neighbours"));
  }
  if (2 * params.threshold <= k) {
    return absl::InvalidArgumentError(absl::StrCat(
        "secagg.threshold (", params.threshold, ") must exceed half the neighbour count (", k,
        "), or a server that lies about dropouts could recover both secrets of one client"));
  }
  const int cohort_bits = static_cast<int>(std::ceil(std::log2(params.num_clients)));
  if (params.input_bits < 1 || params.input_bits + cohort_bits > 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "secagg.bits (", params.input_bits, ") + log2 of the cohort (", cohort_bits,
        ") must be at most 32: the sum of the cohort's inputs would wrap the 2^32 ring"));
  }
  if (params.vector_length == 0) {
    return absl::InvalidArgumentError("secure aggregation of an empty vector");
  }
  return absl::OkStatus();
}

std::vector<std::vector<uint32_t>> NeighborGraph(const SecAggParams& params) {
  const int n = params.num_clients;
  const int k = params.Degree();
  std::vector<std::vector<uint32_t>> neighbors(n);
  if (k >= n - 1) {
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        if (j != i) neighbors[i].push_back(j);
      }
    }
    return neighbors;
  }
  // The graph is public (every party derives it); its randomness needs no secrecy.
  std::vector<uint32_t> at(n);  // at[position] = client
  std::iota(at.begin(), at.end(), 0u);
  // Fisher-Yates over mt19937_64 (whose output the standard fixes), so every build agrees.
  std::mt19937_64 rng(params.graph_seed);
  for (int i = n - 1; i > 0; --i) std::swap(at[i], at[rng() % static_cast<uint64_t>(i + 1)]);
  for (int p = 0; p < n; ++p) {
    for (int d = 1; d <= k / 2; ++d) {
      neighbors[at[p]].push_back(at[(p + d) % n]);
      neighbors[at[p]].push_back(at[(p - d + n) % n]);
    }
  }
  for (auto& list : neighbors) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
  }
  return neighbors;
}

}  // namespace tributary
