// Aggregation throughput: GB/s of fp32 client updates folded into a 10M-parameter global model.
//   BM_FedAvgAccumulate: our FedAvg::Accumulate (order-invariant fp64 grid sum, with validation).
//   BM_FloatAxpyBaseline: a bare float loop sum[i] += w * x[i]: what memory bandwidth allows.
//   BM_TorchPerTensorAdd: torch add_(delta, alpha) per tensor, a model of 100 tensors.
//   BM_TorchSmallTensorOps: sum = sum + delta * w per tensor with temporaries, 1000 tensors.
#include <torch/types.h>

#include <random>

#include "aggregate/fedavg.h"
#include "ratio_reporter.h"

namespace tributary {
namespace {

constexpr int64_t kParameters = 10'000'000;
constexpr int kTensors = 100;

ModelState RandomState(uint64_t seed) {
  std::vector<TensorSpec> specs;
  for (int i = 0; i < kTensors; ++i)
    specs.push_back({"t" + std::to_string(i), {kParameters / kTensors}});
  ModelState state = *ModelState::Zeros(specs);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.01f);
  for (float& v : state.flat()) v = normal(rng);
  return state;
}

void BM_FedAvgAccumulate(benchmark::State& state) {
  ModelState global = RandomState(1);
  ModelState delta = RandomState(2);
  FedAvg fedavg;
  // Large expected total so that any number of iterations stays within the weight bound.
  const int64_t expected = int64_t{1} << 40;
  if (!fedavg.Init(global, expected).ok()) state.SkipWithError("init failed");
  for (auto _ : state) {
    if (!fedavg.Accumulate({0, &delta, 1000}).ok()) state.SkipWithError("rejected");
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * delta.num_bytes());
}
BENCHMARK(BM_FedAvgAccumulate)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_FloatAxpyBaseline(benchmark::State& state) {
  ModelState delta = RandomState(2);
  std::vector<float> sum(kParameters, 0.0f);
  std::span<const float> x = delta.flat();
  for (auto _ : state) {
    for (int64_t i = 0; i < kParameters; ++i) sum[i] += 0.1f * x[i];
    benchmark::DoNotOptimize(sum.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * delta.num_bytes());
}
BENCHMARK(BM_FloatAxpyBaseline)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TorchPerTensorAdd(benchmark::State& state) {
  torch::set_num_threads(1);
  std::vector<torch::Tensor> sums, deltas;
  for (int i = 0; i < kTensors; ++i) {
    sums.push_back(torch::zeros({kParameters / kTensors}));
    deltas.push_back(torch::randn({kParameters / kTensors}));
  }
  for (auto _ : state) {
    for (int i = 0; i < kTensors; ++i) sums[i].add_(deltas[i], 0.1);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kParameters * sizeof(float));
}
BENCHMARK(BM_TorchPerTensorAdd)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TorchSmallTensorOps(benchmark::State& state) {
  torch::set_num_threads(1);
  constexpr int kSmallTensors = 1000;
  std::vector<torch::Tensor> sums, deltas;
  for (int i = 0; i < kSmallTensors; ++i) {
    sums.push_back(torch::zeros({kParameters / kSmallTensors}));
    deltas.push_back(torch::randn({kParameters / kSmallTensors}));
  }
  for (auto _ : state) {
    for (int i = 0; i < kSmallTensors; ++i) sums[i] = sums[i] + deltas[i] * 0.1;
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kParameters * sizeof(float));
}
BENCHMARK(BM_TorchSmallTensorOps)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_FedAvgFinalize(benchmark::State& state) {
  ModelState global = RandomState(1);
  ModelState delta = RandomState(2);
  FedAvg fedavg;
  for (auto _ : state) {
    state.PauseTiming();
    (void)fedavg.Init(global, 1000);
    (void)fedavg.Accumulate({0, &delta, 1000});
    state.ResumeTiming();
    benchmark::DoNotOptimize(fedavg.Finalize());
  }
  state.SetBytesProcessed(state.iterations() * global.num_bytes());
}
BENCHMARK(BM_FedAvgFinalize)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace tributary

int main(int argc, char** argv) {
  return tributary::RunBenchmarksWithRatios(
      argc, argv,
      {{"BM_FedAvgAccumulate/real_time", "BM_FloatAxpyBaseline/real_time"},
       {"BM_FedAvgAccumulate/real_time", "BM_TorchPerTensorAdd/real_time"},
       {"BM_FedAvgAccumulate/real_time", "BM_TorchSmallTensorOps/real_time"}});
}
