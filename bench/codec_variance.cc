// The mean squared error of the stochastic quantizers relative to the input's squared norm,
// E|C(x) - x|^2 / |x|^2 (for unbiased codecs: their variance w), on a vector the size and
// layout of the Fashion-MNIST CNN (184,586 values), Gaussian and heavy-tailed, over 20 seeds.
// Prints figures for docs/fidelity.md; deterministic for a given build (fixed seeds).
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "compress/pipeline.h"

namespace tributary {
namespace {

const std::vector<TensorSpec> kCnnLayout = {{"conv1.weight", {32, 1, 5, 5}},  {"conv1.bias", {32}},
                                            {"conv2.weight", {64, 32, 5, 5}}, {"conv2.bias", {64}},
                                            {"fc1.weight", {128, 1024}},      {"fc1.bias", {128}},
                                            {"fc2.weight", {10, 128}},        {"fc2.bias", {10}}};

double RelativeError(const Pipeline& pipeline, const std::vector<float>& x) {
  double error = 0.0, norm = 0.0;
  for (float v : x) norm += static_cast<double>(v) * v;
  const int seeds = 20;
  for (int seed = 1; seed <= seeds; ++seed) {
    const CodecContext context{.seed = static_cast<uint64_t>(seed), .layout = kCnnLayout};
    std::vector<float> decoded =
        pipeline.Decode(pipeline.Encode(x, context), x.size(), kCnnLayout)->ToDense();
    for (size_t i = 0; i < x.size(); ++i) {
      const double d = static_cast<double>(decoded[i]) - x[i];
      error += d * d;
    }
  }
  return error / seeds / norm;
}

int Main() {
  const size_t n = 184586;
  std::mt19937_64 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> gaussian(n), heavy(n);
  for (size_t i = 0; i < n; ++i) {
    gaussian[i] = normal(rng);
    heavy[i] = normal(rng) * std::exp(normal(rng));
  }
  std::printf("%-34s %12s %12s %10s\n", "codec", "gaussian", "heavy-tail", "bits/value");
  for (const char* spec :
       {"qsgd:bits=4", "qsgd:bits=4,norm=max,bucket=0", "qsgd:bits=4,norm=l2,bucket=0",
        "qsgd:bits=8", "qsgd:bits=2", "terngrad", "terngrad:clip=0,scale=vector", "terngrad:clip=0",
        "terngrad:scale=vector"}) {
    auto pipeline = Pipeline::Parse(spec);
    if (!pipeline.ok()) return 1;
    const double bits =
        8.0 *
        static_cast<double>(
            (*pipeline)->Encode(gaussian, CodecContext{.layout = kCnnLayout}).size()) /
        n;
    std::printf("%-34s %12.4f %12.4f %10.3f\n", spec, RelativeError(**pipeline, gaussian),
                RelativeError(**pipeline, heavy), bits);
  }
  return 0;
}

}  // namespace
}  // namespace tributary

int main() { return tributary::Main(); }
