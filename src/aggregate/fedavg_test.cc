#include "aggregate/fedavg.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "aggregate/strategy_registry.h"

namespace tributary {
namespace {

ModelState Filled(std::initializer_list<float> values) {
  ModelState s = *ModelState::Zeros({{"w", {2}}, {"b", {static_cast<int64_t>(values.size()) - 2}}});
  std::copy(values.begin(), values.end(), s.flat().begin());
  return s;
}

TEST(FedAvgTest, WeightedMeanOfHandMadeDeltas) {
  ModelState global = Filled({1.0f, 2.0f, 3.0f});
  ModelState d1 = Filled({1.0f, 0.0f, -2.0f});
  ModelState d2 = Filled({4.0f, 3.0f, 1.0f});
  FedAvg fedavg;
  ASSERT_TRUE(fedavg.Init(global, 4).ok());
  ASSERT_TRUE(fedavg.Accumulate({0, &d1, 1}).ok());
  ASSERT_TRUE(fedavg.Accumulate({1, &d2, 3}).ok());
  ModelState next = *fedavg.Finalize();
  // global + (1 * d1 + 3 * d2) / 4
  EXPECT_FLOAT_EQ(next.flat()[0], 1.0f + (1.0f + 12.0f) / 4.0f);
  EXPECT_FLOAT_EQ(next.flat()[1], 2.0f + (0.0f + 9.0f) / 4.0f);
  EXPECT_FLOAT_EQ(next.flat()[2], 3.0f + (-2.0f + 3.0f) / 4.0f);
}

TEST(FedAvgTest, DividesByAcceptedExamplesWhenSomeClientsAreMissing) {
  ModelState global = Filled({0.0f, 0.0f, 0.0f});
  ModelState d = Filled({2.0f, 4.0f, 6.0f});
  FedAvg fedavg;
  ASSERT_TRUE(fedavg.Init(global, 100).ok());  // 100 expected, only 30 arrive
  ASSERT_TRUE(fedavg.Accumulate({0, &d, 30}).ok());
  ModelState next = *fedavg.Finalize();
  EXPECT_FLOAT_EQ(next.flat()[0], 2.0f);
  EXPECT_FLOAT_EQ(next.flat()[2], 6.0f);
}

TEST(FedAvgTest, OrderOfArrivalDoesNotChangeABit) {
  std::mt19937 rng(17);
  std::normal_distribution<float> normal(0.0f, 0.01f);
  ModelState global = *ModelState::Zeros({{"w", {1000}}});
  for (float& v : global.flat()) v = normal(rng) * 10.0f;
  std::vector<ModelState> deltas(10, global.ZerosLike());
  std::vector<int64_t> examples;
  for (auto& d : deltas) {
    for (float& v : d.flat()) v = normal(rng) * std::exp(normal(rng) * 300.0f);
    examples.push_back(50 + rng() % 500);
  }
  int64_t total = 0;
  for (int64_t e : examples) total += e;

  std::vector<int> order(10);
  std::iota(order.begin(), order.end(), 0);
  uint64_t reference = 0;
  for (int trial = 0; trial < 8; ++trial) {
    FedAvg fedavg;
    ASSERT_TRUE(fedavg.Init(global, total).ok());
    for (int i : order) ASSERT_TRUE(fedavg.Accumulate({uint32_t(i), &deltas[i], examples[i]}).ok());
    const uint64_t checksum = fedavg.Finalize()->Checksum();
    if (trial == 0) reference = checksum;
    EXPECT_EQ(checksum, reference) << "trial " << trial;
    std::shuffle(order.begin(), order.end(), rng);
  }
}

TEST(FedAvgTest, RejectsBadUpdatesAndKeepsGoing) {
  ModelState global = Filled({0.0f, 0.0f, 0.0f});
  ModelState good = Filled({1.0f, 1.0f, 1.0f});
  ModelState nan = Filled({1.0f, std::nanf(""), 1.0f});
  ModelState wrong_layout = *ModelState::Zeros({{"w", {3}}});
  FedAvg fedavg;
  ASSERT_TRUE(fedavg.Init(global, 10).ok());
  EXPECT_FALSE(fedavg.Accumulate({0, &nan, 5}).ok());
  EXPECT_FALSE(fedavg.Accumulate({1, &wrong_layout, 5}).ok());
  EXPECT_FALSE(fedavg.Accumulate({2, &good, 0}).ok());
  EXPECT_FALSE(fedavg.Accumulate({3, &good, 11}).ok());
  EXPECT_FALSE(fedavg.Accumulate({4, nullptr, 5}).ok());
  ASSERT_TRUE(fedavg.Accumulate({5, &good, 5}).ok());
  ModelState next = *fedavg.Finalize();
  for (float v : next.flat()) EXPECT_EQ(v, 1.0f);
}

TEST(FedAvgTest, FinalizeWithoutUpdatesFails) {
  FedAvg fedavg;
  ASSERT_TRUE(fedavg.Init(Filled({0.0f, 0.0f, 0.0f}), 10).ok());
  EXPECT_FALSE(fedavg.Finalize().ok());
}

TEST(StrategyRegistryTest, CreatesByNameAndRejectsUnknown) {
  EXPECT_TRUE(CreateStrategy({"fedavg"}).ok());
  absl::StatusOr<std::unique_ptr<Strategy>> unknown = CreateStrategy({"fedmagic"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("fedavg"), std::string::npos);
}

}  // namespace
}  // namespace tributary
