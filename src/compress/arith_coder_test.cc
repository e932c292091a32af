#include "compress/arith_coder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace tributary {
namespace {

// Bits drawn with P(1) = p, coded against one adaptive model.
std::vector<int> SkewedBits(size_t n, double p, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution one(p);
  std::vector<int> bits(n);
  for (int& b : bits) b = one(rng) ? 1 : 0;
  return bits;
}

TEST(ArithCoderTest, AdaptiveBitsRoundTripNearTheirEntropy) {
  for (double p : {0.5, 0.1, 0.01, 0.999}) {
    const std::vector<int> bits = SkewedBits(20000, p, 3);
    std::vector<uint8_t> stream;
    ArithEncoder encoder(&stream);
    AdaptiveBit model;
    for (int b : bits) encoder.Encode(model, b);
    encoder.Finish();

    ArithDecoder decoder(stream);
    AdaptiveBit replay;
    for (size_t i = 0; i < bits.size(); ++i) ASSERT_EQ(decoder.Decode(replay), bits[i]) << i;
    EXPECT_TRUE(decoder.ConsumedExactly());
    // Within 15% (plus the flush) of what a coder knowing p would need: the model learns p,
    // give or take the noise of a running average over about 30 bits.
    const double entropy = -(p * std::log2(p) + (1 - p) * std::log2(1 - p));
    EXPECT_LT(stream.size(), 1.15 * entropy * bits.size() / 8 + 8) << "p = " << p;
  }
}

TEST(ArithCoderTest, IntegersOfEveryWidthAndDirectBitsRoundTrip) {
  std::vector<uint64_t> values = {0,
                                  1,
                                  2,
                                  3,
                                  255,
                                  256,
                                  uint64_t{1} << 32,
                                  (uint64_t{1} << 63) + 5,
                                  std::numeric_limits<uint64_t>::max()};
  std::mt19937_64 rng(11);
  for (int i = 0; i < 3000; ++i) values.push_back(rng() >> (rng() % 64));
  std::vector<uint8_t> stream;
  ArithEncoder encoder(&stream);
  IntegerModel model(3);
  for (uint64_t v : values) {
    model.Encode(encoder, v);
    encoder.EncodeDirect(static_cast<uint32_t>(v), 32);
  }
  encoder.Finish();

  ArithDecoder decoder(stream);
  IntegerModel replay(3);
  for (uint64_t v : values) {
    uint64_t got = 0;
    ASSERT_TRUE(replay.Decode(decoder, &got));
    ASSERT_EQ(got, v);
    ASSERT_EQ(decoder.DecodeDirect(32), static_cast<uint32_t>(v));
  }
  EXPECT_TRUE(decoder.ConsumedExactly());
}

TEST(ArithCoderTest, SymbolsLearnTheirDistribution) {
  // Codes 0..15 with geometric frequencies: about 2 bits each, where packing spends 4.
  std::mt19937_64 rng(5);
  std::geometric_distribution<int> geometric(0.5);
  std::vector<uint32_t> symbols(4000);
  for (uint32_t& s : symbols) s = static_cast<uint32_t>(std::min(geometric(rng), 15));
  std::vector<uint8_t> stream;
  ArithEncoder encoder(&stream);
  SymbolModel model(4);
  for (uint32_t s : symbols) model.Encode(encoder, s);
  encoder.Finish();
  EXPECT_LT(stream.size(), symbols.size() * 2.1 / 8);

  ArithDecoder decoder(stream);
  SymbolModel replay(4);
  for (uint32_t s : symbols) ASSERT_EQ(replay.Decode(decoder), s);
  EXPECT_TRUE(decoder.ConsumedExactly());
}

TEST(ArithCoderTest, ShortOrLongStreamsAreNotConsumedExactly) {
  std::vector<uint8_t> stream;
  ArithEncoder encoder(&stream);
  AdaptiveBit model;
  const std::vector<int> bits = SkewedBits(2000, 0.3, 8);
  for (int b : bits) encoder.Encode(model, b);
  encoder.Finish();
  const auto decode_all = [&](std::span<const uint8_t> in) {
    ArithDecoder decoder(in);
    AdaptiveBit replay;
    for (size_t i = 0; i < bits.size(); ++i) decoder.Decode(replay);
    return decoder.ConsumedExactly();
  };
  EXPECT_TRUE(decode_all(stream));
  EXPECT_FALSE(decode_all(std::span<const uint8_t>(stream).first(stream.size() - 1)));
  std::vector<uint8_t> longer = stream;
  longer.push_back(0);
  EXPECT_FALSE(decode_all(longer));
}

TEST(ArithCoderTest, IntegerDecodingRefusesWidthsOver64) {
  // Equiprobable garbage decodes some width in [0, 127]; the ones over 64 must be refused, not
  // shifted into undefined behaviour.
  std::mt19937_64 rng(21);
  int refused = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<uint8_t> garbage(16);
    for (uint8_t& b : garbage) b = static_cast<uint8_t>(rng());
    ArithDecoder decoder(garbage);
    IntegerModel model(2);
    uint64_t v;
    if (!model.Decode(decoder, &v)) ++refused;
  }
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace tributary
