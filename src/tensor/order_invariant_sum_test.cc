#include "tensor/order_invariant_sum.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>

namespace tributary {
namespace {

std::vector<std::vector<float>> RandomUpdates(int count, size_t dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<std::vector<float>> updates(count, std::vector<float>(dim));
  for (auto& u : updates) {
    // Mixed magnitudes make a naive float sum depend on order.
    for (float& v : u) v = normal(rng) * std::pow(10.0f, normal(rng));
    for (float& v : u) v = std::clamp(v, -1000.0f, 1000.0f);
  }
  return updates;
}

TEST(OrderInvariantSumTest, ResultIsBitwiseIndependentOfOrder) {
  const size_t dim = 4096;
  auto updates = RandomUpdates(12, dim, 7);
  std::vector<double> weights;
  for (int i = 0; i < 12; ++i) weights.push_back((i + 1) / 78.0);

  std::vector<int> order(12);
  std::iota(order.begin(), order.end(), 0);
  OrderInvariantSum reference(dim);
  for (int i : order) ASSERT_TRUE(reference.Add(updates[i], weights[i]).ok());

  std::mt19937 rng(3);
  bool naive_differs = false;
  for (int trial = 0; trial < 10; ++trial) {
    std::shuffle(order.begin(), order.end(), rng);
    OrderInvariantSum sum(dim);
    std::vector<float> naive(dim, 0.0f), naive_ref(dim, 0.0f);
    for (int i : order) ASSERT_TRUE(sum.Add(updates[i], weights[i]).ok());
    ASSERT_EQ(0, std::memcmp(sum.sum().data(), reference.sum().data(), dim * sizeof(double)));
    EXPECT_EQ(sum.total_weight(), reference.total_weight());
    // Control: the same terms summed naively in float do depend on order.
    for (int i : order)
      for (size_t j = 0; j < dim; ++j) naive[j] += static_cast<float>(weights[i]) * updates[i][j];
    for (int i = 0; i < 12; ++i)
      for (size_t j = 0; j < dim; ++j)
        naive_ref[j] += static_cast<float>(weights[i]) * updates[i][j];
    naive_differs |= std::memcmp(naive.data(), naive_ref.data(), dim * sizeof(float)) != 0;
  }
  EXPECT_TRUE(naive_differs) << "test data too benign to show order dependence";
}

TEST(OrderInvariantSumTest, CloseToExactSum) {
  const size_t dim = 1000;
  auto updates = RandomUpdates(5, dim, 11);
  OrderInvariantSum sum(dim);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(sum.Add(updates[i], 0.2).ok());
  for (size_t j = 0; j < dim; ++j) {
    long double exact = 0;
    for (int i = 0; i < 5; ++i) exact += 0.2L * updates[i][j];
    EXPECT_NEAR(static_cast<double>(exact), sum.sum()[j], 5 * 0x1.0p-40);
  }
}

TEST(OrderInvariantSumTest, RejectedUpdateLeavesSumUntouched) {
  const size_t dim = 64;
  auto updates = RandomUpdates(2, dim, 5);
  OrderInvariantSum sum(dim);
  ASSERT_TRUE(sum.Add(updates[0], 0.5).ok());
  std::vector<double> before(sum.sum().begin(), sum.sum().end());

  std::vector<float> bad = updates[1];
  bad[10] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(sum.Add(bad, 0.5).ok());
  bad[10] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(sum.Add(bad, 0.5).ok());
  bad[10] = 5000.0f;  // beyond the exact range
  EXPECT_FALSE(sum.Add(bad, 0.5).ok());
  EXPECT_FALSE(sum.Add(updates[1], -0.1).ok());
  EXPECT_FALSE(sum.Add(updates[1], 1.5).ok());
  EXPECT_FALSE(sum.Add(std::vector<float>(dim + 1), 0.5).ok());
  EXPECT_EQ(0, std::memcmp(before.data(), sum.sum().data(), dim * sizeof(double)));
  EXPECT_EQ(sum.total_weight(), RoundToSumGrid(0.5));
}

TEST(OrderInvariantSumTest, TotalWeightIsBounded) {
  OrderInvariantSum sum(4);
  std::vector<float> x(4, 1.0f);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(sum.Add(x, 1.0).ok());
  EXPECT_FALSE(sum.Add(x, 0.5).ok());
}

}  // namespace
}  // namespace tributary
