// The arith byte stage inside pipelines; the conformance suite (codec_conformance_test.cc) also
// runs its round trips, malformed and random payloads.
#include "compress/arith_codec.h"

#include <gtest/gtest.h>

#include <bit>
#include <random>

#include "compress/arith_coder.h"
#include "compress/fp32_codec.h"
#include "compress/pipeline.h"
#include "compress/qsgd_codec.h"

namespace tributary {
namespace {

// A model update of heavy-tailed values, like the differences a client sends.
std::vector<float> HeavyTailed(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::student_t_distribution<float> t(2.0f);
  std::vector<float> x(n);
  for (float& v : x) v = 0.01f * t(rng);
  return x;
}

bool SameUpdate(const Update& a, const Update& b) {
  if (a.indices != b.indices || a.values.size() != b.values.size()) return false;
  for (size_t i = 0; i < a.values.size(); ++i) {
    if (std::bit_cast<uint32_t>(a.values[i]) != std::bit_cast<uint32_t>(b.values[i])) return false;
  }
  return true;
}

// Same fields, other byte stage: the same update decodes, in fewer bytes than zstd's.
TEST(ArithCodecTest, SparseUpdatesDecodeAsWithZstdInFewerBytes) {
  const size_t n = 184000;  // about the Fashion-MNIST CNN's size
  const std::vector<float> x = HeavyTailed(n, 1);
  for (const char* stages : {"topk:ratio=0.002|qsgd:bits=4,norm=max,bucket=0",
                             "topk:ratio=0.01|qsgd:bits=4", "topk:ratio=0.002|grid:exp=8"}) {
    SCOPED_TRACE(stages);
    auto zstd = *Pipeline::Parse(std::string(stages) + "|zstd");
    auto arith = *Pipeline::Parse(std::string(stages) + "|arith");
    const Payload by_zstd = zstd->Encode(x, 3);
    const Payload by_arith = arith->Encode(x, 3);
    const Update expected = *zstd->Decode(by_zstd, n);
    const Update got = *arith->Decode(by_arith, n);
    EXPECT_TRUE(SameUpdate(got, expected));
    EXPECT_LT(by_arith.size(), 0.9 * by_zstd.size())
        << by_arith.size() << " against zstd's " << by_zstd.size();
  }
}

TEST(ArithCodecTest, RefusesBodiesItCannotModel) {
  for (const char* spec : {"topk:ratio=0.1|sign|arith", "powersgd:rank=2|arith", "terngrad|arith",
                           "pertensor|topk:ratio=0.1|qsgd:bits=4|arith"}) {
    const absl::StatusOr<std::unique_ptr<Pipeline>> pipeline = Pipeline::Parse(spec);
    ASSERT_FALSE(pipeline.ok()) << spec;
    EXPECT_NE(pipeline.status().message().find("arith"), std::string::npos)
        << pipeline.status().message();
  }
}

TEST(ArithCodecTest, ABodyOfAnotherShapeComesBackByteForByte) {
  Fp32Codec values;
  ArithCodec codec;
  ASSERT_TRUE(codec.Bind({.count = true, .indices = true, .values = &values}).ok());
  // A count of 5 with two gaps and no values: not this shape, sent raw behind the escape bit.
  const std::vector<uint8_t> odd = {5, 1, 2, 0xFF, 0x80};
  const std::vector<uint8_t> wire = codec.Encode(odd, 1000);
  EXPECT_EQ(*codec.Decode(wire, 1000, 1 << 20), odd);
  // The shape's own body: count 1, gap 7, one fp32 value.
  const std::vector<uint8_t> fits = {1, 7, 0, 0, 0x80, 0x3F};
  EXPECT_EQ(*codec.Decode(codec.Encode(fits, 1000), 1000, 1 << 20), fits);
  // Gap 7 is outside a dimension of 5: raw too, and still exact.
  EXPECT_EQ(*codec.Decode(codec.Encode(fits, 5), 5, 1 << 20), fits);
}

TEST(ArithCodecTest, DecodingStopsAtTheSizeAllowed) {
  auto pipeline = *Pipeline::Parse("grid:exp=8|arith");
  const std::vector<float> x = HeavyTailed(5000, 2);
  const Payload payload = pipeline->Encode(x, 1);
  ASSERT_TRUE(pipeline->Decode(payload, x.size()).ok());
  Fp32Codec values;
  ArithCodec codec;
  ASSERT_TRUE(codec.Bind({.values = &values}).ok());
  // A dense fp32 body of 5000 values needs 20000 bytes: 19999 allowed is an error.
  const std::vector<uint8_t> body(20000, 7);
  const std::vector<uint8_t> wire = codec.Encode(body, 5000);
  EXPECT_TRUE(codec.Decode(wire, 5000, 20000).ok());
  EXPECT_FALSE(codec.Decode(wire, 5000, 19999).ok());
}

// A few bytes that claim a huge body (a raw length of 2^40, or 2^30 selected values) are refused
// at the end of their stream, without making room for what they claim.
TEST(ArithCodecTest, AShortStreamClaimingAHugeBodyStopsAtItsEnd) {
  const auto claim = [](int escape, uint64_t size) {
    std::vector<uint8_t> wire;
    ArithEncoder encoder(&wire);
    AdaptiveBit escape_model;  // the first models ArithCodec uses, in its order
    IntegerModel size_model(2);
    encoder.Encode(escape_model, escape);
    size_model.Encode(encoder, size);
    encoder.Finish();
    return wire;
  };
  QsgdCodec values(4, false, 0);
  ArithCodec codec;
  ASSERT_TRUE(codec.Bind({.count = true, .indices = true, .values = &values}).ok());
  const size_t huge_dimension = size_t{1} << 31;
  const size_t huge_limit = size_t{1} << 41;
  const absl::StatusOr<std::vector<uint8_t>> raw =
      codec.Decode(claim(1, uint64_t{1} << 40), huge_dimension, huge_limit);
  EXPECT_FALSE(raw.ok());
  const absl::StatusOr<std::vector<uint8_t>> counted =
      codec.Decode(claim(0, uint64_t{1} << 30), huge_dimension, huge_limit);
  EXPECT_FALSE(counted.ok());
  ArithCodec no_gaps;  // randk: the count alone, then 2^30 codes
  ASSERT_TRUE(no_gaps.Bind({.count = true, .values = &values}).ok());
  EXPECT_FALSE(no_gaps.Decode(claim(0, uint64_t{1} << 30), huge_dimension, huge_limit).ok());
}

}  // namespace
}  // namespace tributary
