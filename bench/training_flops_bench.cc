// Achieved GFLOP/s of one client's local training (forward, backward and optimizer step, as
// LocalTrainer runs it) against what one core of this CPU can do, on one compute thread as each
// simulator worker and each deployed client uses by default:
// - the core's peak: 2 FLOPs per fused multiply-add times the lanes and FMA units, measured by
//   a loop of independent FMAs (AVX2, and AVX-512 where the CPU has it), and the rate of a large
//   single-precision matrix product through libtorch (OpenBLAS), the most a dense layer can get;
// - the CNN of issue 22's workload (conv5x5 1->32, pool, conv5x5 32->64, pool, fc 1024->128,
//   fc 128->10) at batch 32, plain SGD, on Fashion-MNIST-shaped images (random pixels: the
//   work does not depend on them), and the 5.3M-parameter GPT of docs/llm.md (6 x 256, 64-token
//   context, vocabulary 2,048) at batch 8, AdamW. The CNN also with libtorch's own NCHW calls
//   to oneDNN (the engine keeps the activations in oneDNN's blocked layout instead) and with
//   libtorch's oneDNN switched off, each in turn, for ratios measured in the same run.
// FLOPs are counted from the layer shapes (multiply-adds of the convolutions and matrix products;
// activations, pooling, softmax, layer norms and the optimizer step are left out, so the figure
// is the useful work): training = forward + backward, the backward pass twice the forward's
// multiply-adds except for the first layer's (no gradient for the input). The GPT's attention
// counts the full T x T scores (the causal mask does not skip them).
#include <immintrin.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "common/status_util.h"
#include "data/fashion_mnist.h"
#include "model/onednn_convolution.h"
#include "train/compute_threads.h"
#include "train/local_trainer.h"

namespace tributary {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Independent accumulators hide the FMA latency (4 cycles, 2 units: 8 in flight at least).
constexpr int kChains = 12;
constexpr int64_t kFmaIterations = 50'000'000;

__attribute__((target("avx2,fma"))) double Avx2FmaGflops() {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(0.001f * c);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  const auto start = Clock::now();
  for (int64_t i = 0; i < kFmaIterations; ++i) {
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  }
  const double seconds = Since(start);
  __m256 sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = _mm256_add_ps(sum, acc[c]);
  volatile float sink = _mm256_cvtss_f32(sum);  // keeps the loop
  (void)sink;
  return 2.0 * 8 * kChains * kFmaIterations / seconds / 1e9;
}

__attribute__((target("avx512f"))) double Avx512FmaGflops() {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(0.001f * c);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  const auto start = Clock::now();
  for (int64_t i = 0; i < kFmaIterations; ++i) {
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  }
  const double seconds = Since(start);
  __m512 sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  volatile float sink = lanes[0];  // keeps the loop
  (void)sink;
  return 2.0 * 16 * kChains * kFmaIterations / seconds / 1e9;
}

// The best of a few 1024^3 single-precision products through libtorch's BLAS.
double SgemmGflops() {
  constexpr int64_t n = 1024;
  torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n}), c = torch::empty({n, n});
  torch::mm_out(c, a, b);  // warm-up
  double best = 0.0;
  for (int i = 0; i < 5; ++i) {
    const auto start = Clock::now();
    torch::mm_out(c, a, b);
    best = std::max(best, 2.0 * n * n * n / Since(start) / 1e9);
  }
  return best;
}

// Multiply-adds of one example's (CNN) or one token's (GPT) forward pass, and of its training
// step (the backward pass skips the input gradient of the first layer).
struct Work {
  double forward_macs = 0.0;
  double training_macs = 0.0;
};

Work CnnWork(const ModelSpec& spec) {
  const double c1 = 32, c2 = 64, k = 25;
  const double h1 = spec.input_height - 4, w1 = spec.input_width - 4;  // conv1 output
  const double h2 = h1 / 2 - 4, w2 = w1 / 2 - 4;                       // conv2 output
  const double conv1 = h1 * w1 * c1 * k * spec.input_channels;
  const double conv2 = h2 * w2 * c2 * k * c1;
  const double fc1 = c2 * (h2 / 2) * (w2 / 2) * spec.hidden;
  const double fc2 = static_cast<double>(spec.hidden) * spec.num_classes;
  const double rest = conv2 + fc1 + fc2;
  return {.forward_macs = conv1 + rest, .training_macs = 2 * conv1 + 3 * rest};
}

Work GptWork(const ModelSpec& spec) {
  const double d = spec.embed, t = spec.context, v = spec.num_classes;
  // Per block: q, k, v and the output projection (4 d^2), the MLP (8 d^2), scores and the
  // weighted sum of values (2 t d); then the output layer (d v). Embeddings are lookups.
  const double forward = spec.layers * (12 * d * d + 2 * t * d) + d * v;
  return {.forward_macs = forward, .training_macs = 3 * forward};
}

struct Measured {
  double units_per_second = 0.0;  // examples (CNN) or tokens (GPT)
  double gflops = 0.0;
};

// Trains `steps` steps after `warmup` untimed ones; `units_per_example`: 1, or the context.
absl::StatusOr<Measured> MeasureTraining(const ModelSpec& spec, TrainOptions options,
                                         const TensorDataset& data, const Work& work,
                                         int64_t units_per_example, int warmup, int steps) {
  std::vector<uint32_t> indices(data.size());
  for (uint32_t i = 0; i < indices.size(); ++i) indices[i] = i;
  TRIB_ASSIGN_OR_RETURN(ModelState start, InitialModelState(spec, 1));
  ModelState delta = start.ZerosLike();
  auto run = [&](int count) -> absl::StatusOr<double> {
    options.steps = count;
    TRIB_ASSIGN_OR_RETURN(std::unique_ptr<LocalTrainer> trainer,
                          LocalTrainer::Create(spec, options));
    const auto begin = Clock::now();
    TRIB_RETURN_IF_ERROR(trainer->Train(start, data, indices, 7, &delta).status());
    return Since(begin);
  };
  TRIB_RETURN_IF_ERROR(run(warmup).status());
  TRIB_ASSIGN_OR_RETURN(const double seconds, run(steps));
  const double units = static_cast<double>(steps) * options.batch_size * units_per_example;
  return Measured{.units_per_second = units / seconds,
                  .gflops = 2.0 * work.training_macs * units / seconds / 1e9};
}

absl::StatusOr<std::shared_ptr<const TensorDataset>> RandomImages(int64_t count) {
  LabeledImages images{.rows = 28, .cols = 28, .num_classes = 10};
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> pixel(0, 255), label(0, 9);
  images.pixels.resize(count * 28 * 28);
  for (uint8_t& p : images.pixels) p = static_cast<uint8_t>(pixel(rng));
  images.labels.resize(count);
  for (uint8_t& l : images.labels) l = static_cast<uint8_t>(label(rng));
  return TensorDataset::FromImages(std::move(images), {.mean = 0.286f, .stddev = 0.353f});
}

absl::StatusOr<std::shared_ptr<const TensorDataset>> RandomWindows(int64_t count, int64_t context,
                                                                   int vocab) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int32_t> token(0, vocab - 1);
  std::vector<int32_t> tokens(count * (context + 1));
  for (int32_t& t : tokens) t = token(rng);
  return TensorDataset::FromTokenWindows(tokens, context);
}

int Run() {
  ConfigureComputeThreads(1);
  torch::set_num_threads(1);
  std::printf("one core's peak (fp32), measured on this CPU:\n");
  const double avx2 = Avx2FmaGflops();
  std::printf("  %-44s %8.1f GFLOP/s\n", "AVX2 FMA loop (8 lanes)", avx2);
  double peak = avx2;
  if (__builtin_cpu_supports("avx512f")) {
    const double avx512 = Avx512FmaGflops();
    std::printf("  %-44s %8.1f GFLOP/s\n", "AVX-512 FMA loop (16 lanes)", avx512);
    peak = std::max(peak, avx512);
  }
  const double sgemm = SgemmGflops();
  std::printf("  %-44s %8.1f GFLOP/s (%.0f%% of the FMA peak)\n",
              "1024^3 sgemm through libtorch (OpenBLAS)", sgemm, 100 * sgemm / peak);

  std::printf("\nlocal training, 1 compute thread (FLOPs of the convolutions and products):\n");
  std::printf("  %-30s %14s %10s %10s %10s\n", "model", "rate", "GFLOP/s", "of peak", "of sgemm");
  ModelSpec cnn{.name = "cnn"};
  cnn.hidden = 128;
  TrainOptions sgd{.optimizer = OptimizerKind::kSgd, .learning_rate = 0.05};
  sgd.batch_size = 32;
  absl::StatusOr<std::shared_ptr<const TensorDataset>> images = RandomImages(4096);
  if (!images.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(images.status().message()).c_str());
    return 1;
  }
  const Work cnn_work = CnnWork(cnn);
  // The CNN three ways, taken in turn three times (this VM's speed drifts within a run), each
  // row the median: as the engine runs it (oneDNN's convolutions with blocked activations),
  // with libtorch's own NCHW calls to the same kernels, and with libtorch's oneDNN switched off.
  const bool onednn = at::hasMKLDNN() && at::globalContext().userEnabledMkldnn();
  std::vector<Measured> cnn_runs[3];
  for (int repeat = 0; repeat < 3; ++repeat) {
    for (int way = 0; way < 3; ++way) {
      if (!onednn && way > 0) continue;
      SetBlockedConvolutions(way == 0);
      at::globalContext().setUserEnabledMkldnn(onednn && way < 2);
      absl::StatusOr<Measured> m = MeasureTraining(cnn, sgd, **images, cnn_work, 1, 20, 300);
      if (!m.ok()) {
        std::fprintf(stderr, "error: %s\n", std::string(m.status().message()).c_str());
        return 1;
      }
      cnn_runs[way].push_back(*m);
    }
  }
  SetBlockedConvolutions(true);
  at::globalContext().setUserEnabledMkldnn(onednn);
  const auto median = [](std::vector<Measured> runs) {
    std::sort(runs.begin(), runs.end(), [](const Measured& a, const Measured& b) {
      return a.units_per_second < b.units_per_second;
    });
    return runs[runs.size() / 2];
  };

  ModelSpec gpt{.name = "gpt", .num_classes = 2048};
  gpt.layers = 6;
  gpt.embed = 256;
  gpt.heads = 4;
  gpt.context = 64;
  TrainOptions adamw{.optimizer = OptimizerKind::kAdamW, .learning_rate = 1e-3};
  adamw.batch_size = 8;
  absl::StatusOr<std::shared_ptr<const TensorDataset>> windows =
      RandomWindows(256, gpt.context, 2048);
  if (!windows.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(windows.status().message()).c_str());
    return 1;
  }
  const Work gpt_work = GptWork(gpt);
  absl::StatusOr<Measured> gpt_rate =
      MeasureTraining(gpt, adamw, **windows, gpt_work, gpt.context, 5, 40);
  if (!gpt_rate.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(gpt_rate.status().message()).c_str());
    return 1;
  }
  const auto row = [&](const char* label, const Measured& m, const char* unit) {
    std::printf("  %-30s %8.0f %-5s %10.2f %9.1f%% %9.1f%%\n", label, m.units_per_second, unit,
                m.gflops, 100 * m.gflops / peak, 100 * m.gflops / sgemm);
  };
  row(onednn ? "cnn, batch 32, sgd" : "cnn, batch 32, sgd (no oneDNN)", median(cnn_runs[0]),
      "ex/s");
  if (onednn) {
    row("the same, libtorch's NCHW calls", median(cnn_runs[1]), "ex/s");
    row("the same, oneDNN off", median(cnn_runs[2]), "ex/s");
  }
  row("gpt 6x256 (5.3M), batch 8, adamw", *gpt_rate, "tok/s");
  std::printf("\n  per example: cnn %.2f MFLOP; per token: gpt %.2f MFLOP (training)\n",
              2 * cnn_work.training_macs / 1e6, 2 * gpt_work.training_macs / 1e6);
  return 0;
}

}  // namespace
}  // namespace tributary

int main() { return tributary::Run(); }
