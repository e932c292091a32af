// The grid stage's promise: values land on multiples of 2^-exp, and on the grid float
// additions are exact, so increments applied one by one equal their sum applied once.
#include "compress/grid_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "compress/pipeline.h"

namespace tributary {
namespace {

TEST(GridCodecTest, ValuesBecomeTheNearestMultipleOfTheStep) {
  auto pipeline = *Pipeline::Parse("grid:exp=3");  // step 0.125
  const std::vector<float> x = {0.0f, 0.06f, 0.07f, -0.2f, 1.0f, 3.3f};
  const Update update = *pipeline->Decode(pipeline->Encode(x, 0), x.size());
  EXPECT_EQ(update.ToDense(), (std::vector<float>{0.0f, 0.0f, 0.125f, -0.25f, 1.0f, 3.25f}));
  EXPECT_EQ(SnapToGrid(0.07f, 3), 0.125f);
  // Beyond 2^24 steps the integer is clamped: every decoded value stays exact in float.
  const float far = SnapToGrid(1e9f, 3);
  EXPECT_EQ(far, static_cast<float>(GridCodec::kMaxSteps) / 8.0f);
}

TEST(GridCodecTest, IncrementsOnTheGridAddUpExactlyInAnyOrder) {
  const int exp = 10;
  auto pipeline = *Pipeline::Parse("topk:ratio=0.2|grid:exp=10|zstd");
  std::mt19937 rng(5);
  std::normal_distribution<float> step(0.0f, 0.05f);
  const size_t n = 500;
  std::vector<float> start(n);
  for (float& v : start) v = SnapToGrid(step(rng) * 20.0f, exp);
  std::vector<float> one_by_one = start;
  std::vector<std::vector<float>> increments;
  for (int round = 0; round < 30; ++round) {
    std::vector<float> change(n);
    for (float& v : change) v = step(rng);
    const Update update = *pipeline->Decode(pipeline->Encode(change, round), n);
    increments.push_back(update.ToDense());
    update.AddTo(one_by_one);
  }
  // Backwards, and as one summed difference: bit for bit the same model.
  std::vector<float> backwards = start, summed_difference(n, 0.0f);
  for (auto it = increments.rbegin(); it != increments.rend(); ++it) {
    for (size_t i = 0; i < n; ++i) {
      backwards[i] += (*it)[i];
      summed_difference[i] += (*it)[i];
    }
  }
  std::vector<float> at_once = start;
  for (size_t i = 0; i < n; ++i) at_once[i] += summed_difference[i];
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(one_by_one[i], backwards[i]) << i;
    ASSERT_EQ(one_by_one[i], at_once[i]) << i;
    ASSERT_EQ(SnapToGrid(one_by_one[i], exp), one_by_one[i]) << i;
  }
  // Without the grid (4-bit QSGD's arbitrary scales) the same experiment does not add up.
  auto qsgd = *Pipeline::Parse("topk:ratio=0.2|qsgd:bits=4,norm=max,bucket=0");
  std::vector<float> forwards_q = start, backwards_q = start;
  std::vector<std::vector<float>> increments_q;
  for (int round = 0; round < 30; ++round) {
    std::vector<float> change(n);
    for (float& v : change) v = step(rng);
    increments_q.push_back(qsgd->Decode(qsgd->Encode(change, round), n)->ToDense());
    for (size_t i = 0; i < n; ++i) forwards_q[i] += increments_q.back()[i];
  }
  for (auto it = increments_q.rbegin(); it != increments_q.rend(); ++it) {
    for (size_t i = 0; i < n; ++i) backwards_q[i] += (*it)[i];
  }
  EXPECT_NE(forwards_q, backwards_q);
}

TEST(GridCodecTest, AnIntegerBeyondTheExactRangeIsClampedWhenSentAndRefusedWhenReceived) {
  auto pipeline = *Pipeline::Parse("grid:exp=0");
  const std::vector<float> big = {33554432.0f, -33554432.0f};  // 2^25
  const Update clamped = *pipeline->Decode(pipeline->Encode(big, 0), 2);
  EXPECT_EQ(clamped.values, (std::vector<float>{16777215.0f, -16777215.0f}));
  // Only the wire can hold a larger integer: 2^24 (zigzag 2^25).
  std::vector<uint8_t> body;
  ByteWriter out(&body);
  out.PutVarint(uint64_t{1} << 25);
  ByteReader in(body);
  std::vector<float> decoded(1);
  EXPECT_FALSE(GridCodec(0).Decode(in, CodecContext{}, decoded).ok());
}

}  // namespace
}  // namespace tributary
