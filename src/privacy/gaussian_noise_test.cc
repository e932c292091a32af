#include "privacy/gaussian_noise.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace tributary {
namespace {

struct Moments {
  double mean = 0.0, stddev = 0.0;
};

Moments Measure(const std::vector<double>& v) {
  double sum = 0.0, sq = 0.0;
  for (double x : v) sum += x;
  const double mean = sum / v.size();
  for (double x : v) sq += (x - mean) * (x - mean);
  return {mean, std::sqrt(sq / (v.size() - 1))};
}

TEST(GaussianNoiseTest, HasTheConfiguredStandardDeviation) {
  constexpr size_t kCount = 1 << 20;
  constexpr double kStddev = 0.37;
  std::vector<double> values(kCount, 0.0);
  GaussianStream(SeededNoiseKey(5)).Add(values, kStddev);
  const Moments m = Measure(values);
  // Standard errors: mean 0.37 / 1024 = 3.6e-4, stddev 0.37 / sqrt(2^21) = 2.6e-4; 5 of them.
  EXPECT_NEAR(m.mean, 0.0, 1.8e-3);
  EXPECT_NEAR(m.stddev, kStddev, 1.3e-3);
  // Tails of a normal: about 4.55% beyond 2 sigma, 0.27% beyond 3.
  size_t beyond2 = 0, beyond3 = 0;
  for (double x : values) {
    beyond2 += std::fabs(x) > 2 * kStddev;
    beyond3 += std::fabs(x) > 3 * kStddev;
  }
  EXPECT_NEAR(static_cast<double>(beyond2) / kCount, 0.0455, 0.001);
  EXPECT_NEAR(static_cast<double>(beyond3) / kCount, 0.0027, 0.0003);
}

TEST(GaussianNoiseTest, SeededKeysRepeatAndSecretKeysDiffer) {
  std::vector<float> a(1000, 0.0f), b(1000, 0.0f), c(1000, 0.0f), d(1000, 0.0f);
  GaussianStream(SeededNoiseKey(9)).Add(a, 1.0);
  GaussianStream(SeededNoiseKey(9)).Add(b, 1.0);
  GaussianStream(SeededNoiseKey(10)).Add(c, 1.0);
  GaussianStream(SecretNoiseKey()).Add(d, 1.0);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  EXPECT_NE(SecretNoiseKey(), SecretNoiseKey());
}

TEST(GaussianNoiseTest, LongStreamsCrossBufferRefills) {
  // 64 KiB of keystream holds 8192 uniforms: draw well past several refills.
  GaussianStream stream(SeededNoiseKey(1));
  std::vector<double> values(100000);
  for (double& v : values) v = stream.Next();
  const Moments m = Measure(values);
  EXPECT_NEAR(m.stddev, 1.0, 0.02);
  std::vector<double> again(100000, 0.0);
  GaussianStream(SeededNoiseKey(1)).Add(again, 1.0);
  EXPECT_EQ(values, again);
}

}  // namespace
}  // namespace tributary
