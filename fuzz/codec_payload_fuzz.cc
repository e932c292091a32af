// Fuzz target: the decoder of every codec pipeline, on payloads as a client or server receives
// them. The first byte picks the pipeline; the rest is the payload. Decoding must fail cleanly
// or produce a well-formed update of the model's dimension (what the aggregator relies on).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "compress/pipeline.h"
#include "fuzz_seeds.h"
#include "tensor/model_state.h"

namespace {

using tributary::Pipeline;
using tributary::TensorSpec;

// Every codec stage, and the compositions the docs and configs use.
const char* const kPipelines[] = {
    "fp32",
    "fp16",
    "bf16",
    "sparse",
    "sparse|fp16",
    "topk:ratio=0.1",
    "topk:ratio=0.1|fp16",
    "topk:k=5|bf16",
    "randk:ratio=0.2",
    "randk:ratio=0.2|fp16",
    "threshold:tau=0.01",
    "qsgd:bits=4",
    "qsgd:bits=2,norm=max,bucket=0",
    "qsgd:bits=8,bucket=8",
    "terngrad",
    "terngrad:clip=0,scale=vector",
    "sign",
    "kmeans:centroids=4",
    "powersgd:rank=2",
    "sketch:rows=3,cols=64,k=10",
    "zstd",
    "fp16|zstd",
    "topk:ratio=0.01|qsgd:bits=4|zstd",
    "topk:ratio=0.1|sign|zstd",
    "randk:ratio=0.1|terngrad",
    "pertensor|topk:ratio=0.25|fp16",
    "topk:ratio=0.01|qsgd:bits=4|arith",
    "qsgd:bits=3,bucket=8|arith",
    "randk:ratio=0.2|qsgd:bits=4|arith",
    "sparse|grid:exp=8|arith",
    "fp16|arith",
};
constexpr size_t kCount = sizeof(kPipelines) / sizeof(kPipelines[0]);

struct Parsed {
  std::vector<std::unique_ptr<Pipeline>> pipelines;
  std::vector<TensorSpec> layout = {{"conv.weight", {4, 2, 3, 3}},
                                    {"conv.bias", {4}},
                                    {"fc.weight", {10, 16}},
                                    {"fc.bias", {10}}};
  size_t dimension = 0;
};

const Parsed& Pipelines() {
  static const Parsed parsed = [] {
    Parsed p;
    for (const char* spec : kPipelines) {
      auto pipeline = Pipeline::Parse(spec);
      if (!pipeline.ok()) __builtin_trap();  // the list itself is wrong
      p.pipelines.push_back(std::move(*pipeline));
    }
    for (const TensorSpec& spec : p.layout) p.dimension += spec.NumElements();
    return p;
  }();
  return parsed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Parsed& p = Pipelines();
  const Pipeline& pipeline = *p.pipelines[data[0] % kCount];
  auto update = pipeline.Decode({data + 1, size - 1}, p.dimension, p.layout);
  if (update.ok()) {
    if (update->dimension != p.dimension) __builtin_trap();
    if (update->sparse) {
      if (update->indices.size() != update->values.size()) __builtin_trap();
      for (size_t i = 0; i < update->indices.size(); ++i) {
        if (update->indices[i] >= p.dimension) __builtin_trap();
        if (i > 0 && update->indices[i] <= update->indices[i - 1]) __builtin_trap();
      }
    } else if (update->values.size() != p.dimension) {
      __builtin_trap();
    }
    std::vector<float> model(p.dimension, 0.0f);
    update->AddTo(model);
  }
  if (pipeline.sketch() != nullptr) {
    auto table = pipeline.DecodeSketchTable({data + 1, size - 1}, p.dimension);
    (void)table;
  }
  return 0;
}

// Each pipeline's encoding of a few vectors: dense, sparse, with outliers and zeros.
std::vector<std::string> TributaryFuzzSeeds() {
  const Parsed& p = Pipelines();
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<std::vector<float>> vectors(3, std::vector<float>(p.dimension, 0.0f));
  for (float& v : vectors[0]) v = normal(rng);
  for (size_t i = 0; i < p.dimension; i += 7) vectors[1][i] = normal(rng);
  for (float& v : vectors[2]) v = 1e-3f * normal(rng);
  vectors[2][3] = 1e4f;
  std::vector<std::string> seeds;
  for (size_t i = 0; i < kCount; ++i) {
    for (size_t v = 0; v < vectors.size(); ++v) {
      const tributary::Payload payload = p.pipelines[i]->Encode(
          vectors[v], tributary::CodecContext{.seed = 11 + v, .layout = p.layout});
      std::string seed(1, static_cast<char>(i));
      seed.append(payload.begin(), payload.end());
      seeds.push_back(std::move(seed));
    }
  }
  return seeds;
}
