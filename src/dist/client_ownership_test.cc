#include "dist/client_ownership.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace tributary {
namespace {

std::vector<double> LoadPerRank(const std::vector<double>& costs, const std::vector<int>& owner,
                                int ranks) {
  std::vector<double> load(ranks, 0.0);
  for (size_t c = 0; c < costs.size(); ++c) load[owner[c]] += costs[c];
  return load;
}

TEST(ClientOwnershipTest, EqualCostsAlternateBetweenRanks) {
  const std::vector<double> costs(7, 1.0);
  EXPECT_EQ(AssignClientsToRanks(costs, 2), (std::vector<int>{0, 1, 0, 1, 0, 1, 0}));
  EXPECT_EQ(AssignClientsToRanks(costs, 3), (std::vector<int>{0, 1, 2, 0, 1, 2, 0}));
  EXPECT_EQ(AssignClientsToRanks(costs, 1), std::vector<int>(7, 0));
}

TEST(ClientOwnershipTest, LargestClientsFirstBalanceTheLoad) {
  // Round-robin by id would give rank 0 the three large clients (300 against 3).
  const std::vector<double> costs = {100, 1, 100, 1, 100, 1};
  const std::vector<int> owner = AssignClientsToRanks(costs, 2);
  const std::vector<double> load = LoadPerRank(costs, owner, 2);
  EXPECT_EQ(load[0], 200.0);
  EXPECT_EQ(load[1], 103.0);
  EXPECT_EQ(owner, (std::vector<int>{0, 1, 1, 1, 0, 1}));
}

TEST(ClientOwnershipTest, SkewedPopulationIsWithinTheGreedyBound) {
  std::vector<double> costs;
  for (int c = 0; c < 1000; ++c) costs.push_back(1.0 + (c * 7919 % 613));  // spread 1..613
  for (int ranks : {2, 3, 4, 7}) {
    const std::vector<double> load = LoadPerRank(costs, AssignClientsToRanks(costs, ranks), ranks);
    double total = 0.0;
    for (double l : load) total += l;
    const double largest = *std::max_element(load.begin(), load.end());
    // Greedy is within the largest single cost of the mean.
    EXPECT_LE(largest, total / ranks + 613.0) << ranks;
  }
}

TEST(ClientOwnershipTest, MoreRanksThanClientsLeavesSomeRanksIdle) {
  const std::vector<double> costs = {5, 3};
  EXPECT_EQ(AssignClientsToRanks(costs, 4), (std::vector<int>{0, 1}));
  EXPECT_TRUE(AssignClientsToRanks({}, 3).empty());
}

}  // namespace
}  // namespace tributary
