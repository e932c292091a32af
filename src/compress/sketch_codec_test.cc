#include "compress/sketch_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "aggregate/sketched_fedavg.h"
#include "compress/pipeline.h"

namespace tributary {
namespace {

// A few large coordinates over small noise: the heavy hitters a sketch must find.
std::vector<float> Spiky(size_t n, const std::vector<uint32_t>& spikes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 1e-3f);
  std::vector<float> x(n);
  for (float& v : x) v = noise(rng);
  for (size_t j = 0; j < spikes.size(); ++j) x[spikes[j]] = (j % 2 ? -1.0f : 1.0f) * (5.0f + j);
  return x;
}

TEST(SketchCodecTest, RecoversHeavyHitters) {
  const std::vector<uint32_t> spikes = {3, 999, 20000, 54321, 99998};
  std::vector<float> x = Spiky(100000, spikes, 1);
  auto pipeline = *Pipeline::Parse("sketch:rows=5,cols=2000,k=5");
  const Payload payload = pipeline->Encode(x, 7);
  EXPECT_EQ(payload.size(), pipeline->Encode(std::vector<float>(100000, 0.0f), 7).size());
  std::vector<float> decoded = pipeline->Decode(payload, x.size())->ToDense();
  for (uint32_t i : spikes) EXPECT_NEAR(decoded[i], x[i], 0.05f) << i;
  int nonzero = 0;
  for (float v : decoded) nonzero += v != 0.0f;
  EXPECT_EQ(nonzero, 5);
}

TEST(SketchCodecTest, TablesAreLinearAndTravelExactly) {
  const size_t n = 10000;
  auto pipeline = *Pipeline::Parse("sketch:rows=3,cols=500,ratio=0.01|zstd");
  const SketchCodec& codec = *pipeline->sketch();
  std::vector<float> a = Spiky(n, {1, 2}, 1), b = Spiky(n, {7000}, 2), sum(n);
  for (size_t i = 0; i < n; ++i) sum[i] = a[i] + b[i];
  std::vector<float> table_a(codec.table_size(), 0.0f), table_sum(codec.table_size(), 0.0f);
  codec.AddToTable(a, table_a);
  codec.AddToTable(b, table_a);
  codec.AddToTable(sum, table_sum);
  for (size_t t = 0; t < table_a.size(); ++t) EXPECT_NEAR(table_a[t], table_sum[t], 1e-5f);

  std::vector<float> expected(codec.table_size(), 0.0f);
  codec.AddToTable(a, expected);
  absl::StatusOr<std::vector<float>> table = pipeline->DecodeSketchTable(pipeline->Encode(a, 3), n);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(*table, expected);
  EXPECT_FALSE((*Pipeline::Parse("fp32"))->DecodeSketchTable(pipeline->Encode(a, 3), n).ok());
}

TEST(SketchCodecTest, RejectsSelectorsAndPerTensor) {
  EXPECT_FALSE(Pipeline::Parse("topk:k=3|sketch:cols=10,k=1").ok());
  EXPECT_FALSE(Pipeline::Parse("pertensor|sketch:cols=10,k=1").ok());
  EXPECT_FALSE(Pipeline::Parse("sketch:cols=10").ok());
  EXPECT_FALSE(Pipeline::Parse("sketch:k=1").ok());
  EXPECT_TRUE(Pipeline::Parse("sketch:cols=10,k=1|zstd").ok());
}

TEST(SketchedFedAvgTest, KeepsWhatTheTopKLeftInTheErrorTable) {
  const size_t n = 20000;
  auto pipeline = *Pipeline::Parse("sketch:rows=5,cols=1000,k=1");
  const SketchCodec& codec = *pipeline->sketch();
  ModelState global = *ModelState::Zeros({TensorSpec{"w", {static_cast<int64_t>(n)}}});
  SketchedFedAvg server(codec);

  // Two clients of equal weight: their mean has spikes 4 (at 10) and 3 (at 500).
  std::vector<float> client_a(n, 0.0f), client_b(n, 0.0f);
  client_a[10] = 8.0f;
  client_b[500] = 6.0f;
  ASSERT_TRUE(server.Init(20).ok());
  for (const auto& [id, x] : {std::pair{0u, &client_a}, std::pair{1u, &client_b}}) {
    std::vector<float> table = *pipeline->DecodeSketchTable(pipeline->Encode(*x, id), n);
    ASSERT_TRUE(server.Accumulate(id, table, 10).ok());
  }
  global = *server.Finalize(std::move(global));
  EXPECT_NEAR(global.flat()[10], 4.0f, 1e-5f);
  EXPECT_EQ(global.flat()[500], 0.0f);

  // A round with nothing new: the error table still holds coordinate 500, and it goes now.
  ASSERT_TRUE(server.Init(10).ok());
  std::vector<float> zeros(n, 0.0f);
  ASSERT_TRUE(
      server.Accumulate(0, *pipeline->DecodeSketchTable(pipeline->Encode(zeros, 1), n), 10).ok());
  global = *server.Finalize(std::move(global));
  EXPECT_NEAR(global.flat()[500], 3.0f, 1e-5f);
  for (float v : server.error_table()) EXPECT_NEAR(v, 0.0f, 1e-5f);

  ASSERT_TRUE(server.Init(10).ok());
  EXPECT_FALSE(server.Accumulate(0, zeros, 11).ok()) << "more examples than expected";
  EXPECT_FALSE(server.Finalize(std::move(global)).ok()) << "nothing accepted";
}

}  // namespace
}  // namespace tributary
