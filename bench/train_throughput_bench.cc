// Simulator training throughput (examples/s) with K clients trained concurrently per round:
// the CNN on Fashion-MNIST, 600 examples per client, one local epoch. Rounds 2 to 7 are timed
// (round 1 warms up; no evaluation in the timed rounds). Ratios are against K = 1 in this run.
#include <cstdio>
#include <vector>

#include "run/simulation.h"
#include "train/compute_threads.h"

namespace tributary {
namespace {

struct Scenario {
  int clients_per_round;
  int workers;  // 0: the simulator's default
  int threads_per_worker;
};

absl::StatusOr<double> ExamplesPerSecond(const Scenario& scenario) {
  ExperimentConfig config;
  config.run.name = "throughput";
  config.run.seed = 1;
  config.run.rounds = 8;
  config.run.eval_every = 1000;  // only the last (untimed) round evaluates
  config.run.clients_per_round = scenario.clients_per_round;
  config.data.partition = {.scheme = PartitionScheme::kIid, .num_clients = 100};
  config.data.max_test_examples = 1000;
  config.model.name = "cnn";
  config.train.epochs = 1;
  config.train.batch_size = 32;
  config.compute.workers = scenario.workers;
  config.compute.threads_per_worker = scenario.threads_per_worker;
  auto simulation = Simulation::Create(config);
  if (!simulation.ok()) return simulation.status();
  double seconds = 0.0;
  int64_t examples = 0;
  absl::Status status = (*simulation)->Run([&](const RoundMetrics& m) {
    if (m.round >= 2 && m.round <= 7) {
      seconds += m.wall_seconds;
      examples += 600 * m.clients;
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return examples / seconds;
}

}  // namespace
}  // namespace tributary

int main() {
  using tributary::Scenario;
  std::printf("simulator training throughput, cnn on Fashion-MNIST, %d hardware threads\n",
              tributary::HardwareThreads());
  std::printf("%-28s %10s %14s %10s\n", "scenario", "busy workers", "examples/s", "vs K=1");
  const std::vector<std::pair<const char*, Scenario>> scenarios = {
      {"K=1", {1, 0, 0}},   {"K=1, 2 intra-op threads", {1, 1, 2}},
      {"K=2", {2, 0, 0}},   {"K=4", {4, 0, 0}},
      {"K=10", {10, 0, 0}},
  };
  double baseline = 0.0;
  for (const auto& [name, scenario] : scenarios) {
    absl::StatusOr<double> rate = tributary::ExamplesPerSecond(scenario);
    if (!rate.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(rate.status().message()).c_str());
      return 1;
    }
    if (baseline == 0.0) baseline = *rate;
    const int workers =
        std::min(scenario.clients_per_round,
                 scenario.workers > 0 ? scenario.workers : tributary::HardwareThreads());
    std::printf("%-28s %10d %14.0f %9.2fx\n", name, workers, *rate, *rate / baseline);
    std::fflush(stdout);
  }
  return 0;
}
