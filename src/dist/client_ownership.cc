#include "dist/client_ownership.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <numeric>
#include <queue>
#include <utility>

namespace tributary {

std::vector<int> AssignClientsToRanks(std::span<const double> costs, int ranks) {
  std::vector<uint32_t> order(costs.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return costs[a] > costs[b]; });
  // (load, rank), least loaded first, lower rank on ties.
  using Load = std::pair<double, int>;
  std::priority_queue<Load, std::vector<Load>, std::greater<Load>> loads;
  for (int r = 0; r < ranks; ++r) loads.push({0.0, r});
  std::vector<int> owner(costs.size(), 0);
  for (uint32_t client : order) {
    auto [load, rank] = loads.top();
    loads.pop();
    owner[client] = rank;
    loads.push({load + costs[client], rank});
  }
  return owner;
}

}  // namespace tributary
