// Fidelity suite, codecs: each codec's output distribution on fixed inputs against what
// tests/reference/fidelity_reference.py computes from the papers (its output:
// tests/reference/fidelity_reference.txt), and a long-horizon error-feedback test for every
// codec that accepts error feedback.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "compress/error_feedback.h"
#include "compress/pipeline.h"

namespace tributary {
namespace {

const std::vector<float> kX = {0.3f,  -1.2f, 0.05f,  0.8f, -0.02f, 0.6f,  -0.6f, 2.4f,
                               0.01f, 0.25f, -0.33f, 0.0f, 1.7f,   -0.9f, 0.45f, -0.07f};

std::unique_ptr<Pipeline> Parse(const std::string& spec) {
  auto pipeline = Pipeline::Parse(spec);
  EXPECT_TRUE(pipeline.ok()) << pipeline.status();
  return std::move(pipeline).value();
}

struct Moments {
  std::vector<double> mean, variance;
  std::vector<double> variance_error;  // standard error of each variance estimate
};

constexpr int kTrials = 20000;

// Mean and variance of each decoded coordinate over kTrials encodings with distinct seeds.
Moments Sample(const Pipeline& pipeline, std::span<const float> x, CodecContext context) {
  const size_t n = x.size();
  std::vector<std::vector<float>> draws;
  for (int t = 0; t < kTrials; ++t) {
    context.seed = 7000 + t;
    draws.push_back(pipeline.Decode(pipeline.Encode(x, context), n, context.layout)->ToDense());
  }
  Moments m{std::vector<double>(n, 0.0), std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};
  for (size_t i = 0; i < n; ++i) {
    for (const auto& d : draws) m.mean[i] += d[i] / kTrials;
    double m4 = 0.0;
    for (const auto& d : draws) {
      const double sq = (d[i] - m.mean[i]) * (d[i] - m.mean[i]);
      m.variance[i] += sq / kTrials;
      m4 += sq * sq / kTrials;
    }
    m.variance_error[i] = std::sqrt(std::max(0.0, m4 - m.variance[i] * m.variance[i]) / kTrials);
  }
  return m;
}

// Within 6 standard errors of the reference's mean and variance.
void ExpectMoments(const Moments& got, const std::vector<double>& mean,
                   const std::vector<double>& variance, const std::string& what) {
  for (size_t i = 0; i < mean.size(); ++i) {
    EXPECT_NEAR(got.mean[i], mean[i], 6.0 * std::sqrt(variance[i] / kTrials) + 1e-6)
        << what << " mean " << i;
    EXPECT_NEAR(got.variance[i], variance[i], 6.0 * got.variance_error[i] + 1e-6)
        << what << " variance " << i;
  }
}

// Every decoded magnitude is level * norm / s with the level one of the two around |x| s / norm.
void ExpectQsgdLevels(const std::vector<float>& decoded, std::span<const float> x,
                      const std::vector<double>& true_norms, const std::vector<double>& sent_norms,
                      int levels, size_t bucket) {
  for (size_t i = 0; i < x.size(); ++i) {
    const double a = std::fabs(x[i]) / true_norms[i / bucket] * levels;
    const double unit = sent_norms[i / bucket] / levels;
    const double got = std::fabs(decoded[i]) / unit;
    EXPECT_TRUE(std::fabs(got - std::floor(a)) < 1e-4 || std::fabs(got - std::ceil(a)) < 1e-4)
        << "coordinate " << i << ": level " << got << " for a = " << a;
  }
}

TEST(CodecFidelityTest, QsgdIsAlistarhEtAlInL2Buckets) {
  auto qsgd = Parse("qsgd:bits=3,bucket=8");  // s = 3 levels, norm = l2 (the defaults' kind)
  const std::vector<double> norms = {2.94158121, 2.01962868};
  ExpectMoments(Sample(*qsgd, kX, {}), std::vector<double>(kX.begin(), kX.end()),
                {0.204158121, 0.167030782, 0.0465263535, 0.144421655, 0.0192105414, 0.228316241,
                 0.228316241, 0.23772483, 0.0066320956, 0.10580239, 0.113259155, 0, 0.11301459,
                 0.101243589, 0.100444302, 0.0422246692},
                "qsgd");
  ExpectQsgdLevels(qsgd->Decode(qsgd->Encode(kX, 3), kX.size())->ToDense(), kX, norms, norms, 3, 8);
  // Under error feedback the norm sent is norm / (1 + w), w the bucket's relative variance.
  const std::vector<double> contracted = {2.56362386, 1.76720512};
  const Payload payload = qsgd->Encode(kX, CodecContext{.seed = 3, .contract = true});
  ExpectQsgdLevels(qsgd->Decode(payload, kX.size())->ToDense(), kX, norms, contracted, 3, 8);
}

TEST(CodecFidelityTest, TernGradIsWenEtAlWithClippingAndPerTensorScales) {
  const std::vector<float> x = {0.1f,  -0.2f, 0.15f, 3.0f, -0.05f, 0.12f, -0.08f,
                                0.02f, 0.05f, -0.1f, 0.4f, -0.1f,  0.2f};
  const std::vector<TensorSpec> layout = {{"a", {10}}, {"b", {3}}};
  auto terngrad = Parse("terngrad");
  const CodecContext context{.layout = layout};
  ExpectMoments(Sample(*terngrad, x, context),
                {0.1, -0.2, 0.15, 2.26421758, -0.05, 0.12, -0.08, 0.02, 0.05, -0.1, 0.4, -0.1, 0.2},
                {0.216421758, 0.412843516, 0.317132637, 0, 0.110710879, 0.25730611, 0.174737406,
                 0.0448843516, 0.110710879, 0.216421758, 0, 0.03, 0.04},
                "terngrad");
  // Each tensor's values are 0 or +-its own scale.
  std::vector<float> decoded =
      terngrad
          ->Decode(terngrad->Encode(x, CodecContext{.seed = 1, .layout = layout}), x.size(), layout)
          ->ToDense();
  for (size_t i = 0; i < x.size(); ++i) {
    const double scale = i < 10 ? 2.26421758 : 0.4;
    EXPECT_TRUE(decoded[i] == 0.0f || std::fabs(std::fabs(decoded[i]) - scale) < 1e-6) << i;
  }
}

TEST(CodecFidelityTest, DeterministicCodecsMatchByHand) {
  // Scaled sign (Karimireddy et al. 2019): mean |x| = 0.605 times the sign. One bit cannot
  // hold sign(0) = 0: a zero goes out as +scale.
  std::vector<float> sign = Parse("sign")->Decode(Parse("sign")->Encode(kX, 1), 16)->ToDense();
  for (size_t i = 0; i < kX.size(); ++i) {
    EXPECT_NEAR(sign[i], kX[i] < 0.0f ? -0.605 : 0.605, 1e-6) << i;
  }
  // IEEE half and bfloat16, both rounding to nearest even.
  const std::vector<float> h = {0.1f, 1.0f / 3.0f, 65504.0f, 1e-8f, -2.71828f};
  EXPECT_EQ(Parse("fp16")->Decode(Parse("fp16")->Encode(h, 1), 5)->ToDense(),
            (std::vector<float>{0.0999755859f, 0.333251953f, 65504.0f, 0.0f, -2.71875f}));
  EXPECT_EQ(Parse("bf16")->Decode(Parse("bf16")->Encode(h, 1), 5)->ToDense(),
            (std::vector<float>{0.100097656f, 0.333984375f, 65536.0f, 1.00117177e-08f, -2.71875f}));
  // Top-k: the 3 largest magnitudes, exact.
  Update top = *Parse("topk:k=3")->Decode(Parse("topk:k=3")->Encode(kX, 1), 16);
  EXPECT_EQ(top.indices, (std::vector<uint32_t>{1, 7, 12}));
  EXPECT_EQ(top.values, (std::vector<float>{-1.2f, 2.4f, 1.7f}));
  // Threshold: every |x| >= tau, exact.
  Update over = *Parse("threshold:tau=0.5")->Decode(Parse("threshold:tau=0.5")->Encode(kX, 1), 16);
  EXPECT_EQ(over.indices, (std::vector<uint32_t>{1, 3, 5, 6, 7, 12, 13}));
  // k-means (FedZip's value clustering) on two clear clusters: each value becomes its cluster's
  // mean, +-1.
  const std::vector<float> two = {1.0f, 1.1f, 0.9f, -1.0f, -1.1f, -0.9f};
  auto kmeans = Parse("kmeans:centroids=2");
  std::vector<float> centred = kmeans->Decode(kmeans->Encode(two, 1), 6)->ToDense();
  for (size_t i = 0; i < 6; ++i) EXPECT_NEAR(centred[i], i < 3 ? 1.0 : -1.0, 1e-6) << i;
  // Rand-k: d/k = 4 times the selected values (unbiased); under error feedback, unscaled
  // (the contraction of an unbiased compressor with w = d/k - 1).
  auto randk = Parse("randk:ratio=0.25");
  Update scaled = *randk->Decode(randk->Encode(kX, 5), 16);
  Update unscaled =
      *randk->Decode(randk->Encode(kX, CodecContext{.seed = 5, .contract = true}), 16);
  ASSERT_EQ(scaled.indices.size(), 4u);
  ASSERT_EQ(scaled.indices, unscaled.indices);
  for (size_t j = 0; j < 4; ++j) {
    EXPECT_FLOAT_EQ(scaled.values[j], 4.0f * kX[scaled.indices[j]]);
    EXPECT_FLOAT_EQ(unscaled.values[j], kX[scaled.indices[j]]);
  }
}

std::vector<float> Gaussian(size_t n, std::mt19937_64& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng) * std::exp(normal(rng));  // heavy-tailed
  return x;
}

double Norm(std::span<const float> x) {
  double s = 0.0;
  for (float v : x) s += static_cast<double>(v) * v;
  return std::sqrt(s);
}

// 200 rounds of error feedback on fresh heavy-tailed updates: the residual's norm, relative to
// an update's, must level off. Divergence (an unbiased codec with variance >= 1 applied
// unscaled) grows it geometrically; a compressor that contracts keeps it bounded.
class LongErrorFeedbackTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LongErrorFeedbackTest, ResidualStaysBounded) {
  auto pipeline = Parse(GetParam());
  const std::vector<TensorSpec> layout = {{"w", {40, 50}}, {"b", {50}}};
  const size_t n = 2050;
  std::mt19937_64 rng(11);
  CodecState state;
  double early = 0.0, late = 0.0;
  for (int round = 1; round <= 200; ++round) {
    const std::vector<float> x = Gaussian(n, rng);
    ASSERT_TRUE(
        EncodeWithErrorFeedback(
            *pipeline, x,
            CodecContext{.seed = static_cast<uint64_t>(round), .layout = layout, .state = &state})
            .ok());
    const double ratio = Norm(state.residual) / Norm(x);
    ASSERT_TRUE(std::isfinite(ratio)) << GetParam() << " round " << round;
    if (round > 50 && round <= 100) early = std::max(early, ratio);
    if (round > 150) late = std::max(late, ratio);
  }
  EXPECT_LE(late, 1.5 * early + 0.1) << GetParam() << ": still growing";
  EXPECT_LE(late, 50.0) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(
    EveryCodecWithErrorFeedback, LongErrorFeedbackTest,
    ::testing::Values("topk:ratio=0.01", "randk:ratio=0.01", "threshold:tau=2", "qsgd:bits=4",
                      "qsgd:bits=2", "qsgd:bits=4,norm=max,bucket=0", "qsgd:bits=2,bucket=0",
                      "terngrad", "terngrad:clip=0,scale=vector", "sign", "fp16", "bf16",
                      "kmeans:centroids=4", "powersgd:rank=2", "topk:ratio=0.01|qsgd:bits=4|zstd",
                      "randk:ratio=0.1|qsgd:bits=2", "pertensor|randk:ratio=0.1|terngrad"),
    [](const ::testing::TestParamInfo<std::string>& info) {
      std::string name = info.param;
      for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

// What the contraction prevents: error feedback around an unscaled unbiased codec with
// variance above 1 (rand-k at 1%: d/k - 1 = 99) grows the residual geometrically.
TEST(LongErrorFeedbackTest, UncontractedRandKDiverges) {
  auto randk = Parse("randk:ratio=0.01");
  const size_t n = 2050;
  std::mt19937_64 rng(11);
  std::vector<float> residual(n, 0.0f);
  double ratio = 0.0;
  for (int round = 1; round <= 12; ++round) {
    const std::vector<float> x = Gaussian(n, rng);
    for (size_t i = 0; i < n; ++i) residual[i] += x[i];
    std::vector<float> sent =
        randk->Decode(randk->Encode(residual, static_cast<uint64_t>(round)), n)->ToDense();
    for (size_t i = 0; i < n; ++i) residual[i] -= sent[i];
    ratio = Norm(residual) / Norm(x);
  }
  EXPECT_GT(ratio, 1e3);
}

}  // namespace
}  // namespace tributary
