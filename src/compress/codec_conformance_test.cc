// One suite over every registered codec stage, alone and in pipelines: round trips, error
// bounds, unbiasedness where claimed, exact top-k, the error-feedback identity, exact byte
// accounting, and rejection of malformed payloads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <set>

#include "compress/error_feedback.h"
#include "compress/half_codecs.h"
#include "compress/pipeline.h"
#include "compress/topk_selector.h"
#include "compress/value_range.h"

namespace tributary {
namespace {

std::vector<float> RandomVector(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng) * std::exp(normal(rng));
  return x;
}

// Payload with its checksum recomputed, so that mutations reach the body parser.
void Reseal(Payload& payload) {
  const uint64_t checksum = XXH3_64bits(payload.data(), payload.size() - 8);
  std::memcpy(payload.data() + payload.size() - 8, &checksum, 8);
}

struct CodecCase {
  std::string spec;
  // Largest |decoded - x| allowed relative to max|x|, for coordinates the codec sends.
  double max_relative_error;
};

void PrintTo(const CodecCase& c, std::ostream* os) { *os << c.spec; }

class CodecConformanceTest : public ::testing::TestWithParam<CodecCase> {
 protected:
  std::unique_ptr<Pipeline> Make() {
    auto pipeline = Pipeline::Parse(GetParam().spec);
    EXPECT_TRUE(pipeline.ok()) << pipeline.status();
    return std::move(pipeline).value();
  }
};

TEST_P(CodecConformanceTest, RoundTripWithinStatedError) {
  auto pipeline = Make();
  for (size_t n : {1ul, 7ul, 1000ul, 65537ul}) {
    std::vector<float> x = RandomVector(n, n);
    Payload payload = pipeline->Encode(x, 42);
    absl::StatusOr<Update> update = pipeline->Decode(payload, n);
    ASSERT_TRUE(update.ok()) << update.status();
    ASSERT_EQ(update->dimension, n);
    float max_abs = 0.0f;
    for (float v : x) max_abs = std::max(max_abs, std::fabs(v));
    if (pipeline->lossless()) {
      EXPECT_EQ(update->ToDense(), x);
      continue;
    }
    std::vector<float> dense = update->ToDense();
    std::set<uint32_t> sent(update->indices.begin(), update->indices.end());
    for (size_t i = 0; i < n; ++i) {
      if (update->sparse && !sent.count(i)) {
        EXPECT_EQ(dense[i], 0.0f);
        continue;
      }
      if (GetParam().spec.find("randk") != std::string::npos) continue;  // values scaled by d/k
      EXPECT_LE(std::fabs(dense[i] - x[i]), GetParam().max_relative_error * max_abs + 1e-30)
          << GetParam().spec << " n=" << n << " i=" << i;
    }
  }
}

// Runs on the stochastic unbiased codecs of the list (UnbiasedCases below).
class UnbiasedCodecTest : public CodecConformanceTest {};

TEST_P(UnbiasedCodecTest, AveragesToTheInput) {
  auto pipeline = Make();
  ASSERT_TRUE(pipeline->unbiased() && !pipeline->lossless()) << GetParam().spec;
  const size_t n = 64;
  const int trials = 20000;
  std::vector<float> x = RandomVector(n, 3);
  std::vector<double> mean(n, 0.0);
  for (int t = 0; t < trials; ++t) {
    Payload payload = pipeline->Encode(x, 1000 + t);
    std::vector<float> dense = pipeline->Decode(payload, n)->ToDense();
    for (size_t i = 0; i < n; ++i) mean[i] += dense[i] / trials;
  }
  float max_abs = 0.0f;
  for (float v : x) max_abs = std::max(max_abs, std::fabs(v));
  // Tolerance: 6 standard errors of the worst-case per-coordinate spread (max|x| * d/k scale).
  const double spread =
      GetParam().spec.find("randk") != std::string::npos ? max_abs * 10.0 : max_abs;
  for (size_t i = 0; i < n; ++i) {
    EXPECT_NEAR(mean[i], x[i], 6.0 * spread / std::sqrt(trials)) << GetParam().spec << " i=" << i;
  }
}

TEST_P(CodecConformanceTest, ErrorFeedbackIdentity) {
  auto pipeline = Make();
  const size_t n = 5000;
  CodecState state;
  std::vector<float> old_residual(n, 0.0f);
  for (int round = 0; round < 4; ++round) {
    std::vector<float> x = RandomVector(n, 100 + round);
    absl::StatusOr<Payload> payload = EncodeWithErrorFeedback(
        *pipeline, x, CodecContext{.seed = static_cast<uint64_t>(round), .state = &state});
    ASSERT_TRUE(payload.ok()) << payload.status();
    std::vector<float> sent = pipeline->Decode(*payload, n)->ToDense();
    for (size_t i = 0; i < n; ++i) {
      const float p = x[i] + old_residual[i];
      // sent + residual = input + old residual, up to the one rounding of residual = p - sent:
      // half an ulp of the residual. Checked in double so the check adds no rounding of its own.
      const double gap = static_cast<double>(sent[i]) + state.residual[i] - p;
      EXPECT_LE(std::fabs(gap), std::fabs(state.residual[i]) * 0x1.0p-24 + 1e-38)
          << GetParam().spec << " round " << round << " i=" << i;
    }
    old_residual = state.residual;
  }
}

TEST_P(CodecConformanceTest, RejectsMalformedPayloads) {
  auto pipeline = Make();
  const size_t n = 300;
  std::vector<float> x = RandomVector(n, 9);
  const Payload good = pipeline->Encode(x, 5);
  ASSERT_TRUE(pipeline->Decode(good, n).ok());
  EXPECT_FALSE(pipeline->Decode(good, n + 1).ok()) << "dimension mismatch";

  for (size_t length = 0; length < good.size(); ++length) {
    Payload truncated(good.begin(), good.begin() + length);
    EXPECT_FALSE(pipeline->Decode(truncated, n).ok()) << "truncated to " << length;
    if (length >= 8) {
      Reseal(truncated);
      EXPECT_FALSE(pipeline->Decode(truncated, n).ok()) << "resealed truncation to " << length;
    }
  }
  std::mt19937_64 rng(77);
  for (int flip = 0; flip < 400; ++flip) {
    Payload bad = good;
    const size_t at = rng() % (bad.size() - 8);
    bad[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
    EXPECT_FALSE(pipeline->Decode(bad, n).ok()) << "bit flip at " << at;
    // With a valid checksum the parser itself must hold: an error, or a well-formed update.
    Reseal(bad);
    absl::StatusOr<Update> parsed = pipeline->Decode(bad, n);
    if (parsed.ok()) {
      EXPECT_EQ(parsed->dimension, n);
      for (uint32_t i : parsed->indices) EXPECT_LT(i, n);
      for (float v : parsed->values) EXPECT_TRUE(std::isfinite(v));
    }
  }
  for (int trial = 0; trial < 200; ++trial) {
    Payload random(rng() % 600);
    for (uint8_t& b : random) b = static_cast<uint8_t>(rng());
    EXPECT_FALSE(pipeline->Decode(random, n).ok());
  }
}

// A NaN or infinity in the input must never come out of the server's decoder as a finite
// number: the payload is rejected, or (for a selector) the coordinate was not sent at all.
TEST_P(CodecConformanceTest, NonFiniteInputIsNeverHidden) {
  auto pipeline = Make();
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    std::vector<float> x = RandomVector(1000, 4);
    x[17] = bad;
    absl::StatusOr<Update> update = pipeline->Decode(pipeline->Encode(x, 3), x.size());
    if (!update.ok()) continue;
    ASSERT_TRUE(update->sparse) << GetParam().spec << " decoded " << bad << " as a dense update";
    EXPECT_FALSE(std::count(update->indices.begin(), update->indices.end(), 17u))
        << GetParam().spec << " sent " << bad << " as a finite value";
  }
}

TEST_P(CodecConformanceTest, DenseDecodingIntoCallerMemoryMatchesDecode) {
  auto pipeline = Make();
  const std::vector<TensorSpec> layout = {{"w", {40, 25}}, {"b", {24}}};
  const std::vector<float> x = RandomVector(1024, 5);
  const Payload payload = pipeline->Encode(x, CodecContext{.seed = 9, .layout = layout});
  std::vector<float> out(x.size(), 123.0f);  // left over from an earlier upload
  const absl::Status status = pipeline->DecodeDenseInto(payload, layout, out);
  if (!pipeline->dense()) {
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    return;
  }
  ASSERT_TRUE(status.ok()) << status;
  const std::vector<float> expected = pipeline->Decode(payload, x.size(), layout)->values;
  ASSERT_EQ(out.size(), expected.size());
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint32_t>(out[i]), std::bit_cast<uint32_t>(expected[i])) << i;
  }
  // The same checks as Decode: a payload for another size, a truncated one, a non-finite value.
  std::vector<float> shorter(x.size() - 1);
  EXPECT_FALSE(pipeline->DecodeDenseInto(payload, {}, shorter).ok());
  const Payload truncated(payload.begin(), payload.end() - 9);
  EXPECT_FALSE(pipeline->DecodeDenseInto(truncated, layout, out).ok());
  std::vector<float> bad = x;
  bad[3] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(pipeline->DecodeDenseInto(pipeline->Encode(bad, 9), {}, out).ok());
}

TEST_P(CodecConformanceTest, OtherPipelinesPayloadIsRejected) {
  auto pipeline = Make();
  auto other = Pipeline::Parse(GetParam().spec == "fp32" ? "fp16" : "fp32");
  std::vector<float> x = RandomVector(50, 1);
  EXPECT_FALSE(pipeline->Decode((*other)->Encode(x, 1), 50).ok());
}

// Every codec of the conformance suite, with the error its round trip may show.
const std::vector<CodecCase>& AllCases() {
  static const auto* cases = new std::vector<CodecCase>{
      CodecCase{"fp32", 0.0}, CodecCase{"fp16", 1.0 / 1024}, CodecCase{"bf16", 1.0 / 128},
      // l2 buckets of 512: an error up to sqrt(512) max|x| / s.
      CodecCase{"qsgd:bits=4", 3.3}, CodecCase{"qsgd:bits=4,norm=max,bucket=0", 1.0 / 7},
      CodecCase{"qsgd:bits=8,norm=l2", 1.0}, CodecCase{"qsgd:bits=2", 23.0},
      CodecCase{"qsgd:bits=3,bucket=8", 1.0}, CodecCase{"topk:ratio=0.01", 0.0},
      CodecCase{"topk:k=7|fp16", 1.0 / 1024}, CodecCase{"randk:ratio=0.1", 0.0},
      CodecCase{"zstd", 0.0}, CodecCase{"fp16|zstd:level=9", 1.0 / 1024},
      CodecCase{"topk:ratio=0.05|qsgd:bits=4|zstd", 3.3},
      CodecCase{"randk:ratio=0.2|qsgd:bits=6", 1.0}, CodecCase{"terngrad", 1.0},
      CodecCase{"terngrad:clip=0,scale=vector", 1.0}, CodecCase{"sign", 10.0},
      CodecCase{"threshold:tau=0.5", 0.0}, CodecCase{"sparse|zstd", 0.0},
      CodecCase{"threshold:tau=0.5|terngrad", 1.0}, CodecCase{"kmeans:centroids=16", 2.0},
      CodecCase{"powersgd:rank=2", 0.0}, CodecCase{"pertensor|randk:ratio=0.1|qsgd:bits=4", 1.0},
      CodecCase{"topk:ratio=0.1|kmeans:centroids=4|zstd", 1.0},
      CodecCase{"sketch:rows=5,cols=4000,k=50", 1.0},
      // Half a step of 2^-12 (absolute), clamped at 4096 in magnitude.
      CodecCase{"grid:exp=12", 0.01}, CodecCase{"topk:ratio=0.05|grid:exp=12|zstd", 0.01},
      // The arithmetic-coding byte stage on every body shape it takes: dense raw values, count
      // and gaps, count alone (randk), packed codes with one or many norms, varints.
      CodecCase{"arith", 0.0}, CodecCase{"fp16|arith", 1.0 / 1024}, CodecCase{"sparse|arith", 0.0},
      CodecCase{"topk:ratio=0.05|qsgd:bits=4|arith", 3.3},
      CodecCase{"qsgd:bits=3,bucket=8|arith", 1.0},
      CodecCase{"randk:ratio=0.2|qsgd:bits=6|arith", 1.0}, CodecCase{"grid:exp=12|arith", 0.01},
      CodecCase{"topk:ratio=0.05|grid:exp=12|arith", 0.01}};
  return *cases;
}

// The stochastic codecs whose decoded value is the input in expectation.
std::vector<CodecCase> UnbiasedCases() {
  std::vector<CodecCase> unbiased;
  for (const CodecCase& c : AllCases()) {
    absl::StatusOr<std::unique_ptr<Pipeline>> pipeline = Pipeline::Parse(c.spec);
    if (pipeline.ok() && (*pipeline)->unbiased() && !(*pipeline)->lossless()) {
      unbiased.push_back(c);
    }
  }
  return unbiased;
}

std::string CaseName(const ::testing::TestParamInfo<CodecCase>& info) {
  std::string name = info.param.spec;
  for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, CodecConformanceTest, ::testing::ValuesIn(AllCases()),
                         CaseName);
INSTANTIATE_TEST_SUITE_P(AllCodecs, UnbiasedCodecTest, ::testing::ValuesIn(UnbiasedCases()),
                         CaseName);

TEST(TopKTest, KeepsExactlyTheKLargestMagnitudes) {
  for (size_t n : {10ul, 1000ul, 100000ul}) {
    std::vector<float> x = RandomVector(n, n + 1);
    // Ties and repeated values, including in the bucket that decides the cut.
    for (size_t i = 0; i < n; i += 3) x[i] = (i % 2 ? -1.0f : 1.0f) * 0.5f;
    for (size_t k : {1ul, n / 100 + 1, n / 3, n}) {
      std::vector<uint32_t> got;
      TopKIndices(x, k, &got);
      std::vector<uint32_t> order(n);
      std::iota(order.begin(), order.end(), 0u);
      std::stable_sort(order.begin(), order.end(),
                       [&](uint32_t a, uint32_t b) { return std::fabs(x[a]) > std::fabs(x[b]); });
      std::vector<uint32_t> want(order.begin(), order.begin() + k);
      std::sort(want.begin(), want.end());
      EXPECT_EQ(got, want) << "n=" << n << " k=" << k;
    }
  }
}

TEST(KMeansTest, NearLloydMaxOptimumOnGaussianData) {
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(100000);
  for (float& v : x) v = normal(rng);
  auto pipeline = *Pipeline::Parse("kmeans:centroids=16");
  std::vector<float> decoded = pipeline->Decode(pipeline->Encode(x, 1), x.size())->ToDense();
  double mse = 0.0;
  for (size_t i = 0; i < x.size(); ++i) mse += (decoded[i] - x[i]) * (decoded[i] - x[i]);
  mse /= x.size();
  // The optimal 16-level quantizer of N(0, 1) has MSE 0.0095 (Max 1960).
  EXPECT_LT(mse, 0.012);
  // Outliers get a centre of their own rather than the nearest bulk centre.
  x[0] = 1000.0f;
  decoded = pipeline->Decode(pipeline->Encode(x, 1), x.size())->ToDense();
  EXPECT_NEAR(decoded[0], 1000.0f, 1.0f);
}

TEST(HalfTest, ConversionsRoundToNearestEven) {
  EXPECT_EQ(HalfToFloat(FloatToHalf(1.0f)), 1.0f);
  EXPECT_EQ(HalfToFloat(FloatToHalf(65504.0f)), 65504.0f);
  EXPECT_EQ(HalfToFloat(FloatToHalf(1e9f)), 65504.0f);           // saturates
  EXPECT_EQ(HalfToFloat(FloatToHalf(0x1.0p-24f)), 0x1.0p-24f);   // smallest subnormal
  EXPECT_EQ(HalfToFloat(FloatToHalf(1.0f + 0x1.0p-11f)), 1.0f);  // tie to even
  EXPECT_EQ(HalfToFloat(FloatToHalf(1.0f + 3 * 0x1.0p-11f)), 1.0f + 0x1.0p-9f);
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(std::nanf("")))));
  EXPECT_EQ(Bfloat16ToFloat(FloatToBfloat16(3.0f)), 3.0f);
  // Every finite half converts to float and back unchanged.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if (((h >> 10) & 0x1f) == 0x1f) continue;
    ASSERT_EQ(FloatToHalf(HalfToFloat(static_cast<uint16_t>(h))), h) << h;
  }
  EXPECT_EQ(HalfToFloat(FloatToHalf(-INFINITY)), -INFINITY);  // kept, for the server to reject
}

// The array conversions (F16C on most x86-64 CPUs) agree bit for bit with the scalar ones, on
// random bit patterns and on every half, including subnormals, ties, saturation and infinities.
TEST(HalfTest, ArrayConversionsMatchScalar) {
  std::mt19937 rng(5);
  std::vector<float> x;
  for (int i = 0; i < 200000; ++i) {
    float v = std::bit_cast<float>(static_cast<uint32_t>(rng()));
    if (!std::isnan(v)) x.push_back(v);
  }
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float v = HalfToFloat(static_cast<uint16_t>(h));
    if (!std::isnan(v)) x.insert(x.end(), {v, std::nextafter(v, 0.0f), std::nextafter(v, 1e9f)});
  }
  x.insert(x.end(), {65519.0f, 65520.0f, -65520.0f, 1e30f, INFINITY, -INFINITY, 0x1.0p-25f});
  std::vector<uint8_t> bytes(2 * x.size());
  FloatsToHalves(x, bytes.data());
  for (size_t i = 0; i < x.size(); ++i) {
    uint16_t h;
    std::memcpy(&h, bytes.data() + 2 * i, 2);
    ASSERT_EQ(h, FloatToHalf(x[i])) << x[i];
  }
  std::vector<float> back(x.size());
  HalvesToFloats(bytes.data(), back);
  for (size_t i = 0; i < x.size(); ++i) {
    uint16_t h;
    std::memcpy(&h, bytes.data() + 2 * i, 2);
    ASSERT_EQ(std::bit_cast<uint32_t>(back[i]), std::bit_cast<uint32_t>(HalfToFloat(h))) << h;
  }
}

TEST(PipelineTest, ParsesAndRejectsSpecs) {
  EXPECT_EQ((*Pipeline::Parse("topk:ratio=0.01|qsgd:bits=4|zstd"))->spec(),
            "topk:ratio=0.01|qsgd:bits=4,norm=l2,bucket=512|zstd:level=3");
  EXPECT_EQ((*Pipeline::Parse("topk:k=5"))->spec(), "topk:k=5|fp32");
  for (const char* bad :
       {"", "nosuch", "qsgd:bits=1", "qsgd:bits=4,bits=5", "qsgd:levels=4", "topk",
        "topk:ratio=0.1,k=3", "qsgd:bucket=7", "terngrad:scale=layer", "zstd|fp16", "fp16|qsgd",
        "fp16|topk:k=1", "zstd|zstd", "topk:ratio=2", "qsgd:bits=x"}) {
    EXPECT_FALSE(Pipeline::Parse(bad).ok()) << bad;
  }
}

TEST(PipelineTest, PerTensorSelectsWithinEachTensor) {
  const std::vector<TensorSpec> layout = {{"big", {100}}, {"small", {10, 10}}};
  std::vector<float> x(200);
  for (size_t i = 0; i < 100; ++i) x[i] = 100.0f + i;  // large values only in the first tensor
  for (size_t i = 100; i < 200; ++i) x[i] = 0.01f * (i - 100);
  auto whole = *Pipeline::Parse("topk:k=5");
  auto per_tensor = *Pipeline::Parse("pertensor|topk:k=5");
  EXPECT_EQ(per_tensor->spec(), "pertensor|topk:k=5|fp32");
  const CodecContext context{.seed = 1, .layout = layout};
  Update global = *whole->Decode(whole->Encode(x, context), 200, layout);
  Update local = *per_tensor->Decode(per_tensor->Encode(x, context), 200, layout);
  EXPECT_EQ(global.indices, (std::vector<uint32_t>{95, 96, 97, 98, 99}));
  EXPECT_EQ(local.indices, (std::vector<uint32_t>{95, 96, 97, 98, 99, 195, 196, 197, 198, 199}));
  for (size_t j = 0; j < local.indices.size(); ++j) EXPECT_EQ(local.values[j], x[local.indices[j]]);
  // Per-tensor quantization: each tensor gets its own norm, so the small one is not flattened.
  auto q = *Pipeline::Parse("pertensor|qsgd:bits=8,norm=max,bucket=0");
  std::vector<float> decoded = q->Decode(q->Encode(x, context), 200, layout)->ToDense();
  for (size_t i = 100; i < 200; ++i) EXPECT_NEAR(decoded[i], x[i], 0.99 / 127 + 1e-6) << i;
  // A payload decoded with another layout is rejected or at least well formed, never a crash.
  Payload payload = per_tensor->Encode(x, context);
  const std::vector<TensorSpec> other = {{"a", {150}}, {"b", {50}}};
  absl::StatusOr<Update> mismatched = per_tensor->Decode(payload, 200, other);
  if (mismatched.ok()) {
    for (uint32_t i : mismatched->indices) EXPECT_LT(i, 200u);
  }
  EXPECT_FALSE(Pipeline::Parse("topk:k=1|pertensor").ok());
  EXPECT_FALSE(Pipeline::Parse("pertensor|powersgd:rank=2").ok());
}

TEST(ValueRangeTest, MatchesAPlainScan) {
  for (uint64_t seed : {1, 2, 3}) {
    std::vector<float> x = RandomVector(1001, seed);
    x[5] = -0.0f;
    const ValueRange range = ScanValues(x);
    EXPECT_EQ(range.min, *std::min_element(x.begin(), x.end()));
    EXPECT_EQ(range.max, *std::max_element(x.begin(), x.end()));
    float max_abs = 0.0f;
    for (float v : x) max_abs = std::max(max_abs, std::fabs(v));
    EXPECT_EQ(range.max_abs, max_abs);
    EXPECT_TRUE(range.finite);
    for (float bad : {INFINITY, -INFINITY, NAN, -NAN}) {
      x[77] = bad;
      EXPECT_FALSE(ScanValues(x).finite) << bad;
      x[77] = 0.0f;
    }
  }
  const std::vector<float> negative = {-3.0f, -1.0f, -2.0f};
  EXPECT_EQ(ScanValues(negative).min, -3.0f);
  EXPECT_EQ(ScanValues(negative).max, -1.0f);
}

TEST(PipelineTest, RatioScaleChangesTheTopKCountNotTheFormat) {
  auto pipeline = *Pipeline::Parse("topk:ratio=0.01");
  std::vector<float> x = RandomVector(10000, 2);
  for (double scale : {0.5, 1.0, 3.0}) {
    const Payload payload = pipeline->Encode(x, CodecContext{.seed = 1, .ratio_scale = scale});
    absl::StatusOr<Update> update = pipeline->Decode(payload, x.size());
    ASSERT_TRUE(update.ok()) << update.status();
    EXPECT_EQ(update->indices.size(), static_cast<size_t>(100 * scale));
  }
}

TEST(PipelineTest, EncodeSparseSendsTheGivenEntries) {
  auto pipeline = *Pipeline::Parse("sparse");
  std::vector<uint32_t> indices = {0, 5, 99};
  std::vector<float> values = {0.0f, -2.5f, 7.0f};  // an explicit zero is kept
  Payload payload = pipeline->EncodeSparse(100, indices, values, 3);
  absl::StatusOr<Update> update = pipeline->Decode(payload, 100);
  ASSERT_TRUE(update.ok()) << update.status();
  EXPECT_EQ(update->indices, indices);
  EXPECT_EQ(update->values, values);
}

TEST(PipelineTest, SeededPatternIsWhatEveryClientWithTheSeedSends) {
  const std::vector<TensorSpec> layout = {{"a", {300}}, {"b", {20, 10}}};
  for (const char* spec : {"randk:ratio=0.1", "pertensor|randk:ratio=0.1", "fp32"}) {
    auto pipeline = *Pipeline::Parse(spec);
    ASSERT_TRUE(pipeline->seed_determined_coordinates()) << spec;
    for (bool contract : {false, true}) {
      const CodecContext context{.seed = 9, .layout = layout, .contract = contract};
      const Update pattern = pipeline->SeededPattern(500, context);
      for (uint64_t client : {1, 2}) {
        const std::vector<float> x = RandomVector(500, client);
        const Update sent = *pipeline->Decode(pipeline->Encode(x, context), 500, layout);
        std::vector<uint32_t> indices = sent.indices;
        if (!sent.sparse) {
          indices.resize(500);
          std::iota(indices.begin(), indices.end(), 0u);
        }
        ASSERT_EQ(indices, pattern.indices) << spec;
        for (size_t j = 0; j < indices.size(); ++j) {
          EXPECT_EQ(sent.values[j], static_cast<float>(x[indices[j]] * pattern.values[j]))
              << spec << " " << j;
        }
      }
    }
  }
  for (const char* spec : {"topk:ratio=0.1", "randk:ratio=0.1|zstd", "fp16", "qsgd:bits=8",
                           "randk:ratio=0.1|bf16", "sketch:rows=3,cols=50,k=10", "sparse"}) {
    EXPECT_FALSE((*Pipeline::Parse(spec))->seed_determined_coordinates()) << spec;
  }
}

TEST(PipelineTest, RefusesAnotherPipelinesPayload) {
  const std::vector<float> x = RandomVector(1000, 2);
  auto top1 = *Pipeline::Parse("topk:ratio=0.01|qsgd:bits=4");
  auto top2 = *Pipeline::Parse("topk:ratio=0.02|qsgd:bits=4");
  const Payload payload = top1->Encode(x, 1);
  absl::StatusOr<Update> decoded = top2->Decode(payload, x.size());
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(decoded.status().message()),
              testing::HasSubstr("expected 'topk:ratio=0.02|qsgd:bits=4,norm=l2,bucket=512'"));
  ASSERT_TRUE(top1->Decode(payload, x.size()).ok());
  // A version-1 payload (the header that carried the pipeline's text) is named as such.
  Payload old = payload;
  old[4] = 1;
  const uint64_t checksum = XXH3_64bits(old.data(), old.size() - 8);
  std::memcpy(old.data() + old.size() - 8, &checksum, 8);
  decoded = top1->Decode(old, x.size());
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(std::string(decoded.status().message()),
              testing::HasSubstr("payload version 1, this build reads 2"));
}

TEST(PipelineTest, CompressedSizesAreWhatTheyClaim) {
  std::vector<float> x = RandomVector(100000, 1);
  // Magic, version, pipeline id, the dimension as a 3-byte varint; the checksum.
  const size_t header = 4 + 1 + 4 + 3 + 8;
  auto fp32 = *Pipeline::Parse("fp32");
  auto fp16 = *Pipeline::Parse("fp16");
  auto q4 = *Pipeline::Parse("qsgd:bits=4");
  EXPECT_EQ(fp32->Encode(x, 1).size(), header + 400000);
  EXPECT_EQ(fp16->Encode(x, 1).size(), header + 200000);
  // One fp32 norm per bucket of 512.
  EXPECT_EQ(q4->Encode(x, 1).size(), header + 4 * 196 + 50000);
  // Random-k sends no indices, but the seed they come from (8 bytes), and its count (varint).
  EXPECT_EQ((*Pipeline::Parse("randk:ratio=0.01"))->Encode(x, 1).size(), header + 8 + 2 + 4000);
  // top-1%: 1000 fp32 values plus about 1-2 varint bytes per index gap.
  const size_t topk = (*Pipeline::Parse("topk:ratio=0.01"))->Encode(x, 1).size();
  EXPECT_GT(topk, 5000u);
  EXPECT_LT(topk, 6200u);
}

}  // namespace
}  // namespace tributary
