// Fidelity suite, strategies: each server rule on fixed inputs against the values that
// tests/reference/fidelity_reference.py computes in float64 from the papers' update rules
// (its output: tests/reference/fidelity_reference.txt). Tolerances are float32 rounding.
#include <gtest/gtest.h>

#include <vector>

#include "aggregate/krum.h"
#include "aggregate/norm_bounding.h"
#include "aggregate/strategy.h"
#include "aggregate/strategy_registry.h"
#include "aggregate/trimmed_mean.h"

namespace tributary {
namespace {

ModelState Filled(const std::vector<float>& values) {
  ModelState s = *ModelState::Zeros({{"w", {static_cast<int64_t>(values.size())}}});
  std::copy(values.begin(), values.end(), s.flat().begin());
  return s;
}

// The reference script's three rounds of three clients' deltas on x0 = (0.5, -1, 2).
const std::vector<float> kX0 = {0.5f, -1.0f, 2.0f};
const std::vector<std::vector<std::vector<float>>> kDeltas = {
    {{0.2f, -0.1f, 0.05f}, {0.4f, 0.3f, -0.2f}, {-0.1f, 0.2f, 0.1f}},
    {{0.1f, 0.1f, 0.0f}, {0.3f, -0.2f, 0.1f}, {0.05f, 0.05f, -0.3f}},
    {{-0.2f, 0.0f, 0.2f}, {0.1f, 0.1f, 0.1f}, {0.0f, -0.4f, 0.05f}},
};

// Runs the three rounds with the given per-client weights; returns the final model.
std::vector<float> ThreeRounds(const StrategySpec& spec, const std::vector<int64_t>& weights) {
  auto strategy = CreateStrategy(spec);
  EXPECT_TRUE(strategy.ok()) << strategy.status();
  ModelState global = Filled(kX0);
  int64_t total = 0;
  for (int64_t w : weights) total += w;
  for (const auto& round : kDeltas) {
    EXPECT_TRUE((*strategy)->Init(global, total).ok());
    std::vector<ModelState> deltas;
    for (const auto& d : round) deltas.push_back(Filled(d));
    for (size_t c = 0; c < deltas.size(); ++c) {
      EXPECT_TRUE((*strategy)->Accumulate({static_cast<uint32_t>(c), &deltas[c], weights[c]}).ok());
    }
    global = *(*strategy)->Finalize();
  }
  return {global.flat().begin(), global.flat().end()};
}

void ExpectNear(const std::vector<float>& got, const std::vector<double>& want, double tolerance,
                const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tolerance) << what << i;
}

const std::vector<int64_t> kExamples = {10, 30, 60}, kUniform = {1, 1, 1};

TEST(StrategyFidelityTest, FedAvgIsTheWeightedMean) {  // McMahan et al. 2017
  ExpectNear(ThreeRounds({.name = "fedavg"}, kExamples), {0.72, -1.03, 1.935}, 1e-6, "examples");
  ExpectNear(ThreeRounds({.name = "fedavg"}, kUniform), {0.783333333, -0.983333333, 2.03333333},
             1e-6, "uniform");
}

TEST(StrategyFidelityTest, FedAvgMIsHsuEtAl) {
  ExpectNear(ThreeRounds({.name = "fedavgm", .server_lr = 0.5, .momentum = 0.9}, kExamples),
             {0.7369, -0.853, 1.904275}, 1e-6, "fedavgm");
}

TEST(StrategyFidelityTest, AdaptiveOptimizersAreReddiEtAlAlgorithm2) {
  const StrategySpec base{.server_lr = 0.1, .beta1 = 0.9, .beta2 = 0.99, .tau = 1e-3};
  StrategySpec spec = base;
  spec.name = "fedadagrad";
  ExpectNear(ThreeRounds(spec, kUniform), {0.533654034, -0.982857011, 1.98203406}, 2e-6,
             "fedadagrad");
  spec.name = "fedadam";
  ExpectNear(ThreeRounds(spec, kUniform), {0.823112183, -0.839455272, 1.87013954}, 2e-6, "fedadam");
  spec.name = "fedyogi";
  ExpectNear(ThreeRounds(spec, kUniform), {0.822035522, -0.839765114, 1.87019386}, 2e-6, "fedyogi");
  spec.name = "fedadam";
  spec.bias_correction = true;  // Kingma and Ba's Adam: v_0 = 0, corrected moments
  ExpectNear(ThreeRounds(spec, kUniform), {0.764782588, -0.846611325, 1.839221}, 2e-6,
             "fedadam bias-corrected");
}

TEST(StrategyFidelityTest, DiLoCoTakesNesterovOuterSteps) {  // Douillard et al. 2023
  ExpectNear(ThreeRounds({.name = "diloco", .server_lr = 0.7, .momentum = 0.9}, kUniform),
             {1.14143333, -0.843643333, 1.98857833}, 2e-6, "diloco");
}

// One round of the reference's five 2-coordinate updates, the last an outlier.
std::vector<float> OneRound(const StrategySpec& spec, size_t count = 5) {
  const std::vector<std::vector<float>> updates = {
      {1.0f, 2.0f}, {1.5f, 1.0f}, {0.5f, 1.5f}, {1.2f, 2.5f}, {40.0f, -30.0f}};
  auto strategy = CreateStrategy(spec);
  EXPECT_TRUE(strategy.ok()) << strategy.status();
  const ModelState global = Filled({0.0f, 0.0f});
  EXPECT_TRUE((*strategy)->Init(global, static_cast<int64_t>(count)).ok());
  std::vector<ModelState> deltas;
  for (size_t c = 0; c < count; ++c) deltas.push_back(Filled(updates[c]));
  for (size_t c = 0; c < count; ++c) {
    EXPECT_TRUE((*strategy)->Accumulate({static_cast<uint32_t>(c), &deltas[c], 1}).ok());
  }
  ModelState next = *(*strategy)->Finalize();
  return {next.flat().begin(), next.flat().end()};
}

template <typename Options>
StrategySpec With(StrategySpec spec, Options options) {
  spec.options.Mutable<Options>() = options;
  return spec;
}

TEST(StrategyFidelityTest, RobustRulesMatchTheirPapers) {
  ExpectNear(OneRound({.name = "median"}), {1.2, 1.5}, 1e-6, "median");
  // An even count: the mean of the two middle values.
  ExpectNear(OneRound({.name = "median"}, 4), {1.1, 1.75}, 1e-6, "median of 4");
  ExpectNear(OneRound(With<TrimmedMeanOptions>({.name = "trimmed_mean"}, {.trim_ratio = 0.2})),
             {1.23333333, 1.5}, 1e-6, "trimmed mean");  // Yin et al. 2018
  ExpectNear(OneRound({.name = "krum", .byzantine = 1}), {1.0, 2.0}, 1e-6,
             "krum");  // Blanchard et al. 2017
  ExpectNear(OneRound(With<KrumOptions>({.name = "krum", .byzantine = 1}, {.select = 3})),
             {0.9, 2.0}, 1e-6, "multi-krum");
  ExpectNear(OneRound(With<NormBoundingOptions>({.name = "norm_bounding"}, {.bound = 2.0})),
             {1.07197787, 0.978380099}, 1e-6, "norm bounding");  // Sun et al. 2019
}

}  // namespace
}  // namespace tributary
