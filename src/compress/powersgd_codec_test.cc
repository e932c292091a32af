#include "compress/powersgd_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "compress/pipeline.h"

namespace tributary {
namespace {

const std::vector<TensorSpec> kLayout = {{"w", {40, 30}}, {"b", {40}}, {"conv", {8, 2, 3, 3}}};

std::vector<float> LowRankModel(int rank, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x;
  auto low_rank = [&](size_t n, size_t k) {
    std::vector<float> u(n * rank), v(k * rank);
    for (float& a : u) a = normal(rng);
    for (float& a : v) a = normal(rng);
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < k; ++j) {
        float sum = 0.0f;
        for (int c = 0; c < rank; ++c) sum += u[i * rank + c] * v[j * rank + c];
        x.push_back(sum);
      }
  };
  low_rank(40, 30);
  for (int i = 0; i < 40; ++i) x.push_back(normal(rng));
  low_rank(8, 18);
  return x;
}

double RelativeError(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return std::sqrt(diff / norm);
}

TEST(PowerSgdTest, ReconstructsMatricesOfRankAtMostR) {
  auto pipeline = *Pipeline::Parse("powersgd:rank=3");
  std::vector<float> x = LowRankModel(2, 1);
  CodecState state;
  Payload payload =
      pipeline->Encode(x, CodecContext{.seed = 7, .layout = kLayout, .state = &state});
  absl::StatusOr<Update> update = pipeline->Decode(payload, x.size(), kLayout);
  ASSERT_TRUE(update.ok()) << update.status();
  EXPECT_LT(RelativeError(update->ToDense(), x), 1e-4);
  // 40x30 as rank 3: (40 + 30) * 3 floats; bias as is; conv 8x18 as rank 3: (8 + 18) * 3.
  const size_t floats = (40 + 30) * 3 + 40 + (8 + 18) * 3;
  // Header: magic, version, pipeline id, the dimension (1,384) as a 2-byte varint; checksum.
  EXPECT_EQ(payload.size(), 4 + 1 + 4 + 2 + floats * 4 + 8);
}

TEST(PowerSgdTest, WarmStartImprovesTheApproximationRoundByRound) {
  auto pipeline = *Pipeline::Parse("powersgd:rank=2");
  // Full rank with a decaying spectrum: power iterations converge to the top-2 subspace.
  std::vector<float> x = LowRankModel(2, 3);
  std::vector<float> noise = LowRankModel(12, 4);
  for (size_t i = 0; i < x.size(); ++i) x[i] += 0.05f * noise[i];
  CodecState state;
  std::vector<double> errors;
  for (int round = 0; round < 4; ++round) {
    Payload payload =
        pipeline->Encode(x, CodecContext{.seed = 11, .layout = kLayout, .state = &state});
    errors.push_back(RelativeError(pipeline->Decode(payload, x.size(), kLayout)->ToDense(), x));
  }
  EXPECT_LT(errors.back(), errors.front());
  EXPECT_LT(errors.back(), 0.2);
}

// One rank-deficient round must not cost the codec its rank for good: after a rank-1 update,
// a rank-3 one is recovered exactly within a few warm-started rounds, as from a fresh state
// (issue 20: before, the zeroed columns of Q stayed zero and the error stayed near 0.8).
TEST(PowerSgdTest, RankLostInADeficientRoundGrowsBack) {
  auto pipeline = *Pipeline::Parse("powersgd:rank=3");
  CodecState state;
  const std::vector<float> rank_one = LowRankModel(1, 5);
  pipeline->Encode(rank_one, CodecContext{.seed = 13, .layout = kLayout, .state = &state});
  const std::vector<float> rank_three = LowRankModel(3, 6);
  double error = 1.0;
  for (int round = 0; round < 3; ++round) {
    Payload payload =
        pipeline->Encode(rank_three, CodecContext{.seed = 13, .layout = kLayout, .state = &state});
    error =
        RelativeError(pipeline->Decode(payload, rank_three.size(), kLayout)->ToDense(), rank_three);
  }
  EXPECT_LT(error, 1e-3);
}

TEST(PowerSgdTest, RejectsMalformedInputAndWrongLayouts) {
  auto pipeline = *Pipeline::Parse("powersgd:rank=3");
  std::vector<float> x = LowRankModel(2, 5);
  Payload good = pipeline->Encode(x, CodecContext{.seed = 1, .layout = kLayout});
  ASSERT_TRUE(pipeline->Decode(good, x.size(), kLayout).ok());
  const std::vector<TensorSpec> other = {{"w", {30, 40}}, {"b", {40}}, {"conv", {8, 18}}};
  EXPECT_FALSE(pipeline->Decode(good, x.size(), std::vector<TensorSpec>{{"w", {100}}}).ok());
  for (size_t length = 0; length + 1 < good.size(); length += 7) {
    EXPECT_FALSE(
        pipeline->Decode(Payload(good.begin(), good.begin() + length), x.size(), kLayout).ok());
  }
  EXPECT_FALSE(Pipeline::Parse("topk:ratio=0.1|powersgd:rank=2").ok());
}

}  // namespace
}  // namespace tributary
