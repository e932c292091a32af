// lora_exact: the re-factorized adapters plus the server's remainder equal the weighted sum of
// the clients' products B_k A_k exactly; when that sum fits in rank r, B A alone equals it.
#include "aggregate/lora_exact.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace tributary {
namespace {

constexpr int64_t kOut = 6, kIn = 5, kRank = 2;

ModelState Adapters() {
  return *ModelState::Zeros({{"layer.lora_A", {kRank, kIn}}, {"layer.lora_B", {kOut, kRank}}});
}

void FillRandom(ModelState& state, std::mt19937& rng) {
  std::normal_distribution<float> normal;
  for (float& v : state.flat()) v = normal(rng);
}

// Row-major [out, in] product of B [out, r] and A [r, in] read from a state.
std::vector<double> Product(const ModelState& s) {
  std::span<const float> a = s.tensor(0), b = s.tensor(1);
  std::vector<double> p(kOut * kIn, 0.0);
  for (int64_t i = 0; i < kOut; ++i) {
    for (int64_t j = 0; j < kIn; ++j) {
      for (int64_t k = 0; k < kRank; ++k)
        p[i * kIn + j] += double(b[i * kRank + k]) * a[k * kIn + j];
    }
  }
  return p;
}

// The clients' weighted mean product, from the global adapters and each client's delta.
std::vector<double> MeanProduct(const ModelState& global, const std::vector<ModelState>& deltas,
                                const std::vector<int64_t>& weights) {
  std::vector<double> mean(kOut * kIn, 0.0);
  double total = 0.0;
  for (int64_t w : weights) total += w;
  for (size_t c = 0; c < deltas.size(); ++c) {
    ModelState client = global;
    for (size_t i = 0; i < client.flat().size(); ++i) client.flat()[i] += deltas[c].flat()[i];
    std::vector<double> p = Product(client);
    for (size_t i = 0; i < p.size(); ++i) mean[i] += p[i] * weights[c] / total;
  }
  return mean;
}

ModelState RunRound(LoraExact& strategy, const ModelState& global,
                    const std::vector<ModelState>& deltas, const std::vector<int64_t>& weights) {
  int64_t total = 0;
  for (int64_t w : weights) total += w;
  EXPECT_TRUE(strategy.Init(global, total).ok());
  for (size_t c = 0; c < deltas.size(); ++c) {
    EXPECT_TRUE(strategy.Accumulate({static_cast<uint32_t>(c), &deltas[c], weights[c]}).ok());
  }
  absl::StatusOr<ModelState> next = strategy.Finalize();
  EXPECT_TRUE(next.ok()) << next.status();
  return *next;
}

TEST(LoraExact, AdaptersPlusRemainderEqualWeightedSumOfProducts) {
  std::mt19937 rng(7);
  ModelState global = Adapters();
  FillRandom(global, rng);
  std::vector<ModelState> deltas(3, Adapters());
  for (ModelState& d : deltas) FillRandom(d, rng);
  const std::vector<int64_t> weights = {1, 2, 5};
  LoraExact strategy;
  ModelState next = RunRound(strategy, global, deltas, weights);
  const std::vector<double> expected = MeanProduct(global, deltas, weights);
  const std::vector<double> got = Product(next);
  ASSERT_EQ(strategy.remainder().size(), expected.size());
  double remainder_norm = 0.0;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(got[i] + strategy.remainder()[i], expected[i], 1e-4) << i;
    remainder_norm += std::abs(strategy.remainder()[i]);
  }
  // Three rank-2 products do not fit in rank 2: something must be left over.
  EXPECT_GT(remainder_norm, 1e-3);
}

TEST(LoraExact, ProductsThatFitInRankAreReproducedExactly) {
  std::mt19937 rng(3);
  ModelState global = Adapters();
  FillRandom(global, rng);
  // Two clients with the same adapters: their mean product is that one product, of rank 2.
  std::vector<ModelState> deltas(2, Adapters());
  FillRandom(deltas[0], rng);
  deltas[1] = deltas[0];
  LoraExact strategy;
  ModelState next = RunRound(strategy, global, deltas, {3, 1});
  const std::vector<double> expected = MeanProduct(global, deltas, {3, 1});
  const std::vector<double> got = Product(next);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(got[i], expected[i], 1e-4) << i;
    EXPECT_NEAR(strategy.remainder()[i], 0.0, 1e-4) << i;
  }
}

TEST(LoraExact, DiffersFromAveragingFactorsSeparately) {
  std::mt19937 rng(11);
  ModelState global = Adapters();
  FillRandom(global, rng);
  std::vector<ModelState> deltas(2, Adapters());
  for (ModelState& d : deltas) FillRandom(d, rng);
  // FedIT: mean A times mean B.
  ModelState fedit = global;
  for (size_t i = 0; i < fedit.flat().size(); ++i) {
    fedit.flat()[i] += 0.5f * (deltas[0].flat()[i] + deltas[1].flat()[i]);
  }
  const std::vector<double> exact = MeanProduct(global, deltas, {1, 1});
  const std::vector<double> separate = Product(fedit);
  double gap = 0.0;
  for (size_t i = 0; i < exact.size(); ++i) gap += std::abs(exact[i] - separate[i]);
  EXPECT_GT(gap, 1e-2);
}

TEST(LoraExact, OrderOfArrivalDoesNotMatter) {
  std::mt19937 rng(5);
  ModelState global = Adapters();
  FillRandom(global, rng);
  std::vector<ModelState> deltas(3, Adapters());
  for (ModelState& d : deltas) FillRandom(d, rng);
  LoraExact forward, backward;
  ModelState a = RunRound(forward, global, deltas, {1, 2, 3});
  ASSERT_TRUE(backward.Init(global, 6).ok());
  for (int c = 2; c >= 0; --c) {
    const int64_t w = c + 1;
    ASSERT_TRUE(backward.Accumulate({static_cast<uint32_t>(c), &deltas[c], w}).ok());
  }
  ModelState b = *backward.Finalize();
  for (size_t i = 0; i < a.flat().size(); ++i) EXPECT_EQ(a.flat()[i], b.flat()[i]);
}

TEST(LoraExact, RejectsNonFiniteUpdates) {
  ModelState global = Adapters();
  for (float bad : {std::nanf(""), std::numeric_limits<float>::infinity()}) {
    LoraExact strategy;
    ASSERT_TRUE(strategy.Init(global, 2).ok());
    ModelState poisoned = Adapters();
    poisoned.flat()[3] = bad;
    EXPECT_FALSE(strategy.Accumulate({0, &poisoned, 1}).ok());
    ModelState fine = Adapters();
    ASSERT_TRUE(strategy.Accumulate({1, &fine, 1}).ok());
    EXPECT_TRUE(strategy.Finalize().ok());
  }
}

TEST(LoraExact, RefusesModelsWithoutAdapterPairs) {
  LoraExact strategy;
  ModelState plain = *ModelState::Zeros({{"w", {3}}});
  EXPECT_FALSE(strategy.Init(plain, 1).ok());
}

}  // namespace
}  // namespace tributary
