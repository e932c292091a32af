// GPT training throughput (tokens/s) of one client's local steps: forward, backward and AdamW
// step on batches of 8 windows of 64 tokens, at two model sizes, with all weights trained and
// with rank-8 LoRA adapters over a frozen base. Random tokens (throughput does not depend on
// the text). 5 warm-up steps, then 30 timed steps; ratios are against full training of the same
// size in this run. One compute thread, as each simulator worker uses by default (a 2-thread
// client was slower per core on these small matrices).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <vector>

#include "train/compute_threads.h"
#include "train/local_trainer.h"

namespace tributary {
namespace {

constexpr int64_t kContext = 64;
constexpr int kBatch = 8, kWarmupSteps = 5, kTimedSteps = 30, kVocab = 2048;

absl::StatusOr<double> TokensPerSecond(const ModelSpec& spec, const TensorDataset& data) {
  TrainOptions options{.optimizer = OptimizerKind::kAdamW, .learning_rate = 1e-3};
  options.batch_size = kBatch;
  std::vector<uint32_t> indices(data.size());
  for (uint32_t i = 0; i < indices.size(); ++i) indices[i] = i;
  auto run = [&](int steps) -> absl::StatusOr<double> {
    options.steps = steps;
    absl::StatusOr<std::unique_ptr<LocalTrainer>> trainer = LocalTrainer::Create(spec, options);
    if (!trainer.ok()) return trainer.status();
    absl::StatusOr<ModelState> start = InitialModelState(spec, 1);
    if (!start.ok()) return start.status();
    ModelState delta = start->ZerosLike();
    const auto begin = std::chrono::steady_clock::now();
    absl::StatusOr<LocalTrainResult> result = (*trainer)->Train(*start, data, indices, 7, &delta);
    if (!result.ok()) return result.status();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  };
  absl::StatusOr<double> warmup = run(kWarmupSteps);
  if (!warmup.ok()) return warmup.status();
  absl::StatusOr<double> seconds = run(kTimedSteps);
  if (!seconds.ok()) return seconds.status();
  return kTimedSteps * kBatch * kContext / *seconds;
}

}  // namespace
}  // namespace tributary

int main() {
  using namespace tributary;
  ConfigureComputeThreads(1);
  std::mt19937 rng(3);
  std::uniform_int_distribution<int32_t> token(0, kVocab - 1);
  std::vector<int32_t> tokens(256 * (kContext + 1));
  for (int32_t& t : tokens) t = token(rng);
  absl::StatusOr<std::shared_ptr<const TensorDataset>> data =
      TensorDataset::FromTokenWindows(tokens, kContext);
  if (!data.ok()) return 1;
  const std::string base = (std::filesystem::temp_directory_path() /
                            ("lm_bench_base_" + std::to_string(getpid()) + ".pt"))
                               .string();
  std::printf("gpt local training throughput, batch %d x %lld tokens, 1 compute thread\n", kBatch,
              static_cast<long long>(kContext));
  std::printf("%-34s %12s %12s %10s\n", "model", "trained", "tokens/s", "vs full");
  struct Size {
    const char* name;
    int layers, embed;
  };
  for (const Size& size : {Size{"gpt 4x128", 4, 128}, Size{"gpt 6x256", 6, 256}}) {
    ModelSpec spec{.name = "gpt", .num_classes = kVocab};
    spec.layers = size.layers;
    spec.embed = size.embed;
    spec.heads = 4;
    spec.context = kContext;
    absl::StatusOr<ModelState> full = InitialModelState(spec, 1);
    if (!full.ok() || !SaveModelState(*full, base).ok()) return 1;
    double full_rate = 0.0;
    for (int rank : {0, 8}) {
      ModelSpec run = spec;
      run.lora_rank = rank;
      if (rank > 0) run.base = base;
      absl::StatusOr<ModelState> trained = InitialModelState(run, 1);
      absl::StatusOr<double> rate = TokensPerSecond(run, **data);
      if (!trained.ok() || !rate.ok()) {
        std::fprintf(stderr, "error: %s\n",
                     std::string((rate.ok() ? trained.status() : rate.status()).message()).c_str());
        return 1;
      }
      if (rank == 0) full_rate = *rate;
      const std::string label = std::string(size.name) + (rank > 0 ? ", LoRA r=8" : ", full") +
                                " (" + std::to_string(full->num_elements() / 1000) + "k params)";
      std::printf("%-34s %11zuk %12.0f %9.2fx\n", label.c_str(), trained->num_elements() / 1000,
                  *rate, *rate / full_rate);
      std::fflush(stdout);
    }
  }
  std::filesystem::remove(base);
  return 0;
}
