// Codec throughput: encode and decode GB/s (of fp32 input) for each pipeline at 1M and 10M
// floats, one thread; and top-k selection at 1% against torch::topk on the same data.
#include <torch/types.h>

#include <random>

#include "compress/pipeline.h"
#include "compress/topk_selector.h"
#include "ratio_reporter.h"

namespace tributary {
namespace {

const std::vector<std::string>& Pipelines() {
  static const std::vector<std::string> specs = {"fp32",
                                                 "fp16",
                                                 "bf16",
                                                 "qsgd:bits=4",
                                                 "qsgd:bits=8",
                                                 "terngrad",
                                                 "sign",
                                                 "kmeans:centroids=16",
                                                 "topk:ratio=0.01",
                                                 "randk:ratio=0.01",
                                                 "threshold:tau=0.02",
                                                 "powersgd:rank=4",
                                                 "zstd",
                                                 "fp16|zstd",
                                                 "topk:ratio=0.01|qsgd:bits=4|zstd",
                                                 "sketch:rows=5,cols=100000,ratio=0.01"};
  return specs;
}

const std::vector<float>& Data(size_t n) {
  static std::map<size_t, std::vector<float>> cache;
  auto it = cache.find(n);
  if (it != cache.end()) return it->second;
  std::vector<float> x(n);
  std::mt19937_64 rng(n);
  std::normal_distribution<float> normal(0.0f, 0.01f);
  for (float& v : x) v = normal(rng);
  return cache.emplace(n, std::move(x)).first->second;
}

// The benchmark vector as square-ish matrices of 1000 columns, so that powersgd has matrices to
// factor (other codecs ignore the layout).
std::vector<TensorSpec> MatrixLayout(size_t n) {
  std::vector<TensorSpec> layout;
  for (size_t offset = 0, i = 0; offset < n; ++i) {
    const size_t rows = std::min<size_t>(1000, (n - offset) / 1000);
    if (rows == 0) {
      layout.push_back({"rest" + std::to_string(i), {static_cast<int64_t>(n - offset)}});
      break;
    }
    layout.push_back({"m" + std::to_string(i), {static_cast<int64_t>(rows), 1000}});
    offset += rows * 1000;
  }
  return layout;
}

void BM_Encode(benchmark::State& state, const std::string& spec) {
  auto pipeline = *Pipeline::Parse(spec);
  const std::vector<float>& x = Data(state.range(0));
  const std::vector<TensorSpec> layout = MatrixLayout(x.size());
  CodecState codec_state;
  size_t bytes = 0;
  uint64_t seed = 0;
  // One payload buffer for all iterations, as a client encoding every round would keep.
  Payload payload;
  for (auto _ : state) {
    pipeline->EncodeInto(x, CodecContext{.seed = ++seed, .layout = layout, .state = &codec_state},
                         &payload);
    bytes = payload.size();
    benchmark::DoNotOptimize(payload.data());
  }
  state.SetBytesProcessed(state.iterations() * x.size() * sizeof(float));
  state.counters["ratio"] = static_cast<double>(x.size() * sizeof(float)) / bytes;
}

void BM_Decode(benchmark::State& state, const std::string& spec) {
  auto pipeline = *Pipeline::Parse(spec);
  const std::vector<float>& x = Data(state.range(0));
  const std::vector<TensorSpec> layout = MatrixLayout(x.size());
  const Payload payload = pipeline->Encode(x, CodecContext{.seed = 1, .layout = layout});
  for (auto _ : state) {
    absl::StatusOr<Update> update = pipeline->Decode(payload, x.size(), layout);
    if (!update.ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(update->values.data());
  }
  state.SetBytesProcessed(state.iterations() * x.size() * sizeof(float));
}

void BM_TopKSelect(benchmark::State& state) {
  const std::vector<float>& x = Data(state.range(0));
  std::vector<uint32_t> indices;
  for (auto _ : state) {
    TopKIndices(x, x.size() / 100, &indices);
    benchmark::DoNotOptimize(indices.data());
  }
  state.SetBytesProcessed(state.iterations() * x.size() * sizeof(float));
}
BENCHMARK(BM_TopKSelect)
    ->Arg(1 << 20)
    ->Arg(10'000'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The same selection with libtorch: topk of |x| (values and indices), single-threaded.
void BM_TorchTopK(benchmark::State& state) {
  torch::set_num_threads(1);
  const std::vector<float>& x = Data(state.range(0));
  torch::Tensor t =
      torch::from_blob(const_cast<float*>(x.data()), {static_cast<int64_t>(x.size())});
  for (auto _ : state) {
    auto [values, indices] = torch::topk(t.abs(), static_cast<int64_t>(x.size() / 100));
    benchmark::DoNotOptimize(indices.data_ptr());
  }
  state.SetBytesProcessed(state.iterations() * x.size() * sizeof(float));
}
BENCHMARK(BM_TorchTopK)
    ->Arg(1 << 20)
    ->Arg(10'000'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void RegisterPipelines() {
  for (const std::string& spec : Pipelines()) {
    for (int64_t n : {int64_t{1} << 20, int64_t{10'000'000}}) {
      benchmark::RegisterBenchmark(("BM_Encode/" + spec).c_str(), BM_Encode, spec)
          ->Arg(n)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("BM_Decode/" + spec).c_str(), BM_Decode, spec)
          ->Arg(n)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
}

}  // namespace
}  // namespace tributary

int main(int argc, char** argv) {
  tributary::RegisterPipelines();
  return tributary::RunBenchmarksWithRatios(
      argc, argv,
      {{"BM_TopKSelect/10000000/real_time", "BM_TorchTopK/10000000/real_time"},
       {"BM_TopKSelect/1048576/real_time", "BM_TorchTopK/1048576/real_time"}});
}
