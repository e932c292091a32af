// Training throughput of a TorchScript model against the built-in model it reproduces: the
// Fashion-MNIST CNN of examples/bring_your_own/model.py (its .pt file is argv[1]) and
// model.name = cnn, on one config (2 clients per round, 600 examples each, one epoch; rounds 2
// to 7 timed). The two alternate, three runs each, so drift of the machine hits both alike;
// the ratio is of the medians.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "run/simulation.h"

namespace tributary {
namespace {

absl::StatusOr<double> ExamplesPerSecond(const std::string& torchscript_path) {
  ExperimentConfig config;
  config.run.name = "torchscript_throughput";
  config.run.seed = 1;
  config.run.rounds = 8;
  config.run.eval_every = 1000;  // only the last (untimed) round evaluates
  config.run.clients_per_round = 2;
  config.data.partition = {.scheme = PartitionScheme::kIid, .num_clients = 100};
  config.data.max_test_examples = 1000;
  config.model.name = torchscript_path.empty() ? "cnn" : "torchscript";
  config.model.path = torchscript_path;
  config.train.epochs = 1;
  config.train.batch_size = 32;
  config.compute.workers = 2;
  config.compute.threads_per_worker = 1;
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

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace
}  // namespace tributary

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr,
                 "usage: torchscript_bench MODEL.pt  (write it with "
                 "examples/bring_your_own/model.py)\n");
    return 2;
  }
  std::printf("training throughput, Fashion-MNIST CNN: built-in cnn vs TorchScript (%s)\n",
              argv[1]);
  std::printf("%-6s %16s %16s\n", "run", "cnn examples/s", "torchscript ex/s");
  std::vector<double> builtin, scripted;
  for (int run = 1; run <= 3; ++run) {
    absl::StatusOr<double> a = tributary::ExamplesPerSecond("");
    absl::StatusOr<double> b = tributary::ExamplesPerSecond(argv[1]);
    if (!a.ok() || !b.ok()) {
      std::fprintf(stderr, "error: %s\n",
                   std::string((a.ok() ? b.status() : a.status()).message()).c_str());
      return 1;
    }
    builtin.push_back(*a);
    scripted.push_back(*b);
    std::printf("%-6d %16.0f %16.0f\n", run, *a, *b);
    std::fflush(stdout);
  }
  const double ratio = tributary::Median(scripted) / tributary::Median(builtin);
  std::printf("median: cnn %.0f, torchscript %.0f examples/s; torchscript / cnn = %.3f\n",
              tributary::Median(builtin), tributary::Median(scripted), ratio);
  return 0;
}
