// Every registered strategy on hand-made updates with exact expected results, invariance to the
// order results arrive in, and rejection of non-finite updates.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "aggregate/krum.h"
#include "aggregate/norm_bounding.h"
#include "aggregate/strategy.h"
#include "aggregate/strategy_registry.h"
#include "aggregate/trimmed_mean.h"

namespace tributary {
namespace {

ModelState Filled(std::vector<float> values) {
  ModelState s = *ModelState::Zeros({{"w", {static_cast<int64_t>(values.size())}}});
  std::copy(values.begin(), values.end(), s.flat().begin());
  return s;
}

// `spec` with the options struct of one strategy set.
template <typename Options>
StrategySpec With(StrategySpec spec, Options options) {
  spec.options.Mutable<Options>() = options;
  return spec;
}

std::unique_ptr<Strategy> Make(StrategySpec spec) {
  auto strategy = CreateStrategy(spec);
  EXPECT_TRUE(strategy.ok()) << strategy.status();
  return std::move(strategy).value();
}

// One round: every delta with its example count, in the order given; returns the new model.
std::vector<float> Round(Strategy& strategy, const ModelState& global,
                         const std::vector<std::pair<ModelState, int64_t>>& deltas) {
  int64_t total = 0;
  for (const auto& [delta, examples] : deltas) total += examples;
  EXPECT_TRUE(strategy.Init(global, total).ok());
  for (size_t c = 0; c < deltas.size(); ++c) {
    absl::Status status =
        strategy.Accumulate({static_cast<uint32_t>(c), &deltas[c].first, deltas[c].second});
    EXPECT_TRUE(status.ok()) << status;
  }
  absl::StatusOr<ModelState> next = strategy.Finalize();
  EXPECT_TRUE(next.ok()) << next.status();
  return std::vector<float>(next->flat().begin(), next->flat().end());
}

TEST(StrategiesTest, FedAvgMAccumulatesServerMomentum) {
  auto s = Make({.name = "fedavgm", .server_lr = 0.5, .momentum = 0.5});
  ModelState global = Filled({1.0f});
  // Mean delta 2 both rounds: m = 2 then 0.5 * 2 + 2 = 3; x = 1 + 0.5 * 2 = 2, then 2 + 1.5.
  std::vector<float> x = Round(*s, global, {{Filled({2.0f}), 1}});
  EXPECT_FLOAT_EQ(x[0], 2.0f);
  x = Round(*s, Filled(x), {{Filled({2.0f}), 1}});
  EXPECT_FLOAT_EQ(x[0], 3.5f);
}

TEST(StrategiesTest, AdaptiveServerOptimizersFollowTheirUpdateRules) {
  const float d = 0.5f, tau = 0.01f, b1 = 0.9f, b2 = 0.99f, lr = 0.1f;
  const float m = (1 - b1) * d;
  const float v0 = tau * tau;
  const float v_adagrad = v0 + d * d;
  const float v_adam = b2 * v0 + (1 - b2) * d * d;
  const float v_yogi = v0 + (1 - b2) * d * d;  // v0 < d^2: sign(v - d^2) = -1
  for (const auto& [name, v] : {std::pair{"fedadagrad", v_adagrad}, std::pair{"fedadam", v_adam},
                                std::pair{"fedyogi", v_yogi}}) {
    auto s = Make({.name = name, .server_lr = lr, .beta1 = b1, .beta2 = b2, .tau = tau});
    std::vector<float> x = Round(*s, Filled({0.0f}), {{Filled({d}), 3}});
    EXPECT_NEAR(x[0], lr * m / (std::sqrt(v) + tau), 1e-6f) << name;
  }
}

TEST(StrategiesTest, ServerLearningRateWarmsUpThenDecaysOnACosine) {
  // fedavgm without momentum steps by server_lr(t) * D; D = 1 every round, so each round's move
  // is the scheduled rate: 1/2, then 1 (warm-up over 2 rounds), then the cosine from 1 at round
  // 2 to 0.2 at round 4 (0.6 at round 3), then the floor.
  auto s = Make({.name = "fedavgm",
                 .server_lr = 1.0,
                 .momentum = 0.0,
                 .warmup_rounds = 2,
                 .decay_rounds = 4,
                 .min_lr_ratio = 0.2});
  std::vector<float> x = {0.0f};
  std::vector<float> moves;
  for (int round = 0; round < 5; ++round) {
    const float before = x[0];
    x = Round(*s, Filled(x), {{Filled({1.0f}), 1}});
    moves.push_back(x[0] - before);
  }
  const std::vector<float> expected = {0.5f, 1.0f, 0.6f, 0.2f, 0.2f};
  for (size_t r = 0; r < expected.size(); ++r) EXPECT_NEAR(moves[r], expected[r], 1e-6f) << r;
  // Only server optimizers have a rate to schedule; a decay must end after the warm-up.
  EXPECT_FALSE(CreateStrategy({.name = "diloco", .warmup_rounds = 2}).ok());
  EXPECT_FALSE(CreateStrategy({.name = "fedadam", .warmup_rounds = 4, .decay_rounds = 4}).ok());
}

TEST(StrategiesTest, DiLoCoTakesNesterovStepsOnThePseudoGradient) {
  auto s = Make({.name = "diloco", .server_lr = 0.7, .momentum = 0.9});
  // Mean delta 1 -> g = -1, m = -1, x = 0 - 0.7 * (-1 + 0.9 * -1) = 1.33.
  std::vector<float> x = Round(*s, Filled({0.0f}), {{Filled({1.0f}), 1}});
  EXPECT_NEAR(x[0], 1.33f, 1e-6f);
  // Again: m = 0.9 * -1 - 1 = -1.9, step = 0.7 * (1 + 0.9 * 1.9) = 1.897.
  x = Round(*s, Filled(x), {{Filled({1.0f}), 1}});
  EXPECT_NEAR(x[0], 1.33f + 1.897f, 1e-5f);
}

TEST(StrategiesTest, MaskAwareServerOptimizersLeaveCoordinatesNobodySentAlone) {
  // Round 1 moves both coordinates (and builds momentum for both); round 2's update holds only
  // coordinate 0, so coordinate 1 and its momentum stay as they are (Streaming DiLoCo's
  // fragments rely on this).
  for (const char* name : {"diloco", "fedavgm", "fedadam"}) {
    auto s = Make({.name = name, .server_lr = 0.5, .mask_aware = true});
    std::vector<float> x = Round(*s, Filled({0.0f, 0.0f}), {{Filled({1.0f, 1.0f}), 1}});
    ASSERT_NE(x[1], 0.0f) << name;
    const float after_first = x[1];
    ASSERT_TRUE(s->Init(Filled(x), 1).ok());
    const ModelState delta = Filled({1.0f, 0.0f});
    const std::vector<uint32_t> sent = {0};
    ASSERT_TRUE(
        s->Accumulate({.client_id = 0, .delta = &delta, .num_examples = 1, .sent = &sent}).ok());
    absl::StatusOr<ModelState> next = s->Finalize();
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_NE(next->flat()[0], x[0]) << name;
    EXPECT_EQ(next->flat()[1], after_first) << name;
  }
}

TEST(StrategiesTest, FedProxAndScaffoldAggregateTheModelLikeFedAvg) {
  for (const char* name : {"fedprox", "scaffold"}) {
    auto s = Make({.name = name});
    std::vector<float> x = Round(*s, Filled({1.0f}), {{Filled({1.0f}), 1}, {Filled({3.0f}), 3}});
    EXPECT_FLOAT_EQ(x[0], 1.0f + 2.5f) << name;
  }
}

TEST(StrategiesTest, MedianAndTrimmedMeanIgnoreOutliersAndWeights) {
  // Five clients; the last is an attacker with huge values and a huge example count.
  std::vector<std::pair<ModelState, int64_t>> deltas = {{Filled({1.0f, -2.0f}), 1},
                                                        {Filled({2.0f, -1.0f}), 1},
                                                        {Filled({3.0f, 0.0f}), 1},
                                                        {Filled({4.0f, 1.0f}), 1},
                                                        {Filled({1e6f, -1e6f}), 1000}};
  auto median = Make({.name = "median"});
  std::vector<float> x = Round(*median, Filled({0.0f, 0.0f}), deltas);
  EXPECT_EQ(x, (std::vector<float>{3.0f, -1.0f}));
  // Even count: mean of the two middle values.
  deltas.pop_back();
  x = Round(*median, Filled({0.0f, 0.0f}), deltas);
  EXPECT_EQ(x, (std::vector<float>{2.5f, -0.5f}));

  deltas.push_back({Filled({1e6f, -1e6f}), 1000});
  auto trimmed = Make(With({.name = "trimmed_mean"},
                           TrimmedMeanOptions{.trim_ratio = 0.2}));  // cuts 1 at each end of 5
  x = Round(*trimmed, Filled({0.0f, 0.0f}), deltas);
  EXPECT_EQ(x, (std::vector<float>{3.0f, -1.0f}));  // mean of {2, 3, 4} and of {-2, -1, 0}
}

TEST(StrategiesTest, BucketingAveragesBucketsBeforeTheRobustRule) {
  // One bucket holding every update: the median of one mean is the plain mean.
  const std::vector<std::pair<ModelState, int64_t>> four = {
      {Filled({1.0f}), 1}, {Filled({2.0f}), 1}, {Filled({3.0f}), 1}, {Filled({10.0f}), 1}};
  auto whole = Make({.name = "median", .bucket_size = 4});
  EXPECT_EQ(Round(*whole, Filled({0.0f}), four), (std::vector<float>{4.0f}));
  // Eight honest updates of 1 and two attackers: buckets of 2 leave at least 3 of the 5 bucket
  // means at exactly 1, so their median is 1, wherever the shuffle puts the attackers.
  std::vector<std::pair<ModelState, int64_t>> ten;
  for (int c = 0; c < 8; ++c) ten.push_back({Filled({1.0f}), 1});
  ten.push_back({Filled({-100.0f}), 1});
  ten.push_back({Filled({-100.0f}), 1});
  auto bucketed = Make({.name = "median", .bucket_size = 2});
  EXPECT_EQ(Round(*bucketed, Filled({0.0f}), ten), (std::vector<float>{1.0f}));
  // The buckets depend on which clients took part, not on the order their updates arrived.
  std::vector<std::pair<ModelState, int64_t>> varied;
  for (int c = 0; c < 9; ++c) varied.push_back({Filled({static_cast<float>(c * c)}), 1});
  auto forward =
      Make(With({.name = "trimmed_mean", .bucket_size = 2}, TrimmedMeanOptions{.trim_ratio = 0.2}));
  const std::vector<float> x = Round(*forward, Filled({0.0f}), varied);
  auto backward =
      Make(With({.name = "trimmed_mean", .bucket_size = 2}, TrimmedMeanOptions{.trim_ratio = 0.2}));
  ASSERT_TRUE(backward->Init(Filled({0.0f}), 9).ok());
  for (int c = 8; c >= 0; --c) {
    ASSERT_TRUE(backward->Accumulate({static_cast<uint32_t>(c), &varied[c].first, 1}).ok());
  }
  absl::StatusOr<ModelState> y = backward->Finalize();
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(std::vector<float>(y->flat().begin(), y->flat().end()), x);
  EXPECT_FALSE(CreateStrategy({.name = "median", .bucket_size = 0}).ok());
}

TEST(StrategiesTest, NearestNeighborMixingAveragesEachUpdateWithItsClosest) {
  // f = 1 of 5: each update becomes the mean of its 4 nearest. The honest 0..3 all mix to 1.5
  // (their nearest four are each other); the outlier 100 mixes with 3, 2 and 1 to 26.5. The
  // median of {1.5 x4, 26.5} is 1.5 where the plain median would be 2.
  const std::vector<std::pair<ModelState, int64_t>> five = {{Filled({0.0f}), 1},
                                                            {Filled({1.0f}), 1},
                                                            {Filled({2.0f}), 1},
                                                            {Filled({3.0f}), 1},
                                                            {Filled({100.0f}), 1}};
  auto median = Make({.name = "median", .byzantine = 1, .nearest_neighbor_mixing = true});
  EXPECT_EQ(Round(*median, Filled({0.0f}), five), (std::vector<float>{1.5f}));
  // Trimmed mean cutting one at each end: mean of {1.5, 1.5, 1.5}.
  auto trimmed =
      Make(With({.name = "trimmed_mean", .byzantine = 1, .nearest_neighbor_mixing = true},
                TrimmedMeanOptions{.trim_ratio = 0.2}));
  EXPECT_EQ(Round(*trimmed, Filled({0.0f}), five), (std::vector<float>{1.5f}));
  // f = 0 mixes every update with all the others: each becomes the plain mean, 21.2.
  auto all = Make({.name = "median", .byzantine = 0, .nearest_neighbor_mixing = true});
  EXPECT_FLOAT_EQ(Round(*all, Filled({0.0f}), five)[0], 21.2f);
  // Arrival order does not matter.
  auto backward = Make({.name = "median", .byzantine = 1, .nearest_neighbor_mixing = true});
  ASSERT_TRUE(backward->Init(Filled({0.0f}), 5).ok());
  for (int c = 4; c >= 0; --c) {
    ASSERT_TRUE(backward->Accumulate({static_cast<uint32_t>(c), &five[c].first, 1}).ok());
  }
  absl::StatusOr<ModelState> y = backward->Finalize();
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->flat()[0], 1.5f);
  // Tolerating f attackers needs more than f updates.
  auto too_few = Make({.name = "median", .byzantine = 5, .nearest_neighbor_mixing = true});
  ASSERT_TRUE(too_few->Init(Filled({0.0f}), 5).ok());
  for (int c = 0; c < 5; ++c) {
    ASSERT_TRUE(too_few->Accumulate({static_cast<uint32_t>(c), &five[c].first, 1}).ok());
  }
  EXPECT_FALSE(too_few->Finalize().ok());
  // Mixing is a pre-step of the robust rules only, and not combined with bucketing.
  EXPECT_FALSE(CreateStrategy({.name = "fedavg", .nearest_neighbor_mixing = true}).ok());
  EXPECT_FALSE(
      CreateStrategy({.name = "median", .bucket_size = 2, .nearest_neighbor_mixing = true}).ok());
  EXPECT_FALSE(CreateStrategy({.name = "fedavg", .bucket_size = 2}).ok());
}

TEST(StrategiesTest, KrumPicksTheMostCentralUpdates) {
  std::vector<std::pair<ModelState, int64_t>> deltas = {{Filled({0.0f, 0.0f}), 1},
                                                        {Filled({1.0f, 0.0f}), 1},
                                                        {Filled({0.0f, 1.0f}), 1},
                                                        {Filled({0.2f, 0.2f}), 1},
                                                        {Filled({50.0f, 50.0f}), 1}};
  // f = 1: each score sums the 2 nearest squared distances. (0.2, 0.2): 0.08 + 0.68 = 0.76,
  // the lowest; (0, 0): 0.08 + 1 = 1.08 next.
  auto krum = Make(With({.name = "krum", .byzantine = 1}, KrumOptions{.select = 1}));
  EXPECT_EQ(Round(*krum, Filled({0.0f, 0.0f}), deltas), (std::vector<float>{0.2f, 0.2f}));
  auto multi = Make(With({.name = "krum", .byzantine = 1}, KrumOptions{.select = 2}));
  std::vector<float> x = Round(*multi, Filled({0.0f, 0.0f}), deltas);
  EXPECT_FLOAT_EQ(x[0], 0.1f);
  EXPECT_FLOAT_EQ(x[1], 0.1f);
  // Too few updates for f = 3: an error, not a guess.
  auto strict = Make({.name = "krum", .byzantine = 3});
  ASSERT_TRUE(strict->Init(Filled({0.0f, 0.0f}), 5).ok());
  for (uint32_t c = 0; c < 5; ++c) ASSERT_TRUE(strict->Accumulate({c, &deltas[c].first, 1}).ok());
  EXPECT_FALSE(strict->Finalize().ok());
}

TEST(StrategiesTest, MaskAwareAveragingDividesByTheClientsThatSentACoordinate) {
  ModelState global = Filled({0.0f, 0.0f, 0.0f});
  ModelState a = Filled({2.0f, 0.0f, 4.0f}), b = Filled({0.0f, 6.0f, 8.0f});
  const std::vector<uint32_t> sent_a = {0, 2}, sent_b = {1, 2};
  const auto run = [&](bool mask_aware) {
    auto s = Make({.name = "fedavg", .mask_aware = mask_aware});
    EXPECT_TRUE(s->Init(global, 4).ok());
    EXPECT_TRUE(s->Accumulate({0, &a, 1, &sent_a}).ok());
    EXPECT_TRUE(s->Accumulate({1, &b, 3, &sent_b}).ok());
    ModelState next = *s->Finalize();
    return std::vector<float>(next.flat().begin(), next.flat().end());
  };
  // Weights 1/4 and 3/4. Plain: 2/4, 18/4, (4 + 24)/4. Mask-aware: coordinate 0 only from a,
  // 1 only from b, 2 from both.
  EXPECT_EQ(run(false), (std::vector<float>{0.5f, 4.5f, 7.0f}));
  EXPECT_EQ(run(true), (std::vector<float>{2.0f, 6.0f, 7.0f}));
}

TEST(StrategiesTest, NormBoundingClipsLargeUpdates) {
  auto s = Make(With({.name = "norm_bounding"}, NormBoundingOptions{.bound = 1.0}));
  // (3, 4) has norm 5 -> (0.6, 0.8); (0.3, 0) is inside the bound. Weights 1 : 1.
  std::vector<float> x =
      Round(*s, Filled({0.0f, 0.0f}), {{Filled({3.0f, 4.0f}), 1}, {Filled({0.3f, 0.0f}), 1}});
  EXPECT_FLOAT_EQ(x[0], 0.45f);
  EXPECT_FLOAT_EQ(x[1], 0.4f);
}

TEST(StrategiesTest, EveryStrategyRejectsNonFiniteUpdatesAndIsOrderInvariant) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  std::vector<std::pair<ModelState, int64_t>> deltas;
  for (int c = 0; c < 7; ++c) {
    std::vector<float> v(50);
    for (float& x : v) x = normal(rng);
    deltas.push_back({Filled(v), 10 + c});
  }
  ModelState global = Filled(std::vector<float>(50, 0.5f));
  for (const std::string& name : RegisteredStrategies()) {
    if (name == "lora_exact") continue;  // needs adapter pairs: lora_exact_test.cc
    for (float bad :
         {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
      auto s = Make({.name = name});
      ASSERT_TRUE(s->Init(global, 1000).ok());
      ModelState poisoned = deltas[0].first;
      poisoned.flat()[7] = bad;
      EXPECT_FALSE(s->Accumulate({0, &poisoned, 10}).ok()) << name << " accepted " << bad;
    }
    auto forward = Make({.name = name});
    auto backward = Make({.name = name});
    int64_t total = 0;
    for (const auto& d : deltas) total += d.second;
    ASSERT_TRUE(forward->Init(global, total).ok());
    ASSERT_TRUE(backward->Init(global, total).ok());
    for (size_t c = 0; c < deltas.size(); ++c) {
      const size_t r = deltas.size() - 1 - c;
      ASSERT_TRUE(
          forward->Accumulate({static_cast<uint32_t>(c), &deltas[c].first, deltas[c].second}).ok());
      ASSERT_TRUE(
          backward->Accumulate({static_cast<uint32_t>(r), &deltas[r].first, deltas[r].second})
              .ok());
    }
    ModelState a = *forward->Finalize(), b = *backward->Finalize();
    EXPECT_EQ(a.Checksum(), b.Checksum()) << name;
  }
}

TEST(StrategiesTest, BadParametersAreErrors) {
  EXPECT_FALSE(CreateStrategy({.name = "fedadam", .beta2 = 1.0}).ok());
  EXPECT_FALSE(
      CreateStrategy(With({.name = "trimmed_mean"}, TrimmedMeanOptions{.trim_ratio = 0.5})).ok());
  EXPECT_FALSE(CreateStrategy({.name = "fedavgm", .server_lr = 0.0}).ok());
  EXPECT_FALSE(
      CreateStrategy(With({.name = "norm_bounding"}, NormBoundingOptions{.bound = -1.0})).ok());
  EXPECT_FALSE(CreateStrategy(With({.name = "krum"}, KrumOptions{.select = 0})).ok());
  EXPECT_FALSE(CreateStrategy({.name = "scaffold2"}).ok());
}

}  // namespace
}  // namespace tributary
