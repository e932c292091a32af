#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "cli/commands.h"
#include "cli/config_loader.h"
#include "cli/exit_code.h"
#include "data/fashion_mnist.h"
#include "data/partition.h"
#include "engine/dataset_registry.h"

namespace tributary {

int RunPartitionCommand(const PartitionCommandOptions& options) {
  auto loaded = LoadExperimentConfig(options.config_path, options.overrides);
  if (!loaded.ok()) return Fail(loaded.status());
  const ExperimentConfig& config = loaded->config;
  absl::StatusOr<const Dataset*> dataset = FindDataset(config.data.dataset);
  if (!dataset.ok()) return Fail(dataset.status());
  if ((*dataset)->text()) {
    return Fail(absl::InvalidArgumentError(
        "tributary partition lists label histograms of fashion_mnist; a sotu run prints its "
        "clients' presidents and window counts when it starts"));
  }
  auto images = LoadFashionMnist(
      config.data.dir.empty() ? kDefaultFashionMnistDir : config.data.dir, DatasetSplit::kTrain);
  if (!images.ok()) return Fail(images.status());
  if (config.data.max_train_examples > 0 &&
      static_cast<size_t>(config.data.max_train_examples) < images->size()) {
    images->labels.resize(config.data.max_train_examples);
  }
  auto partitions = PartitionExamples(images->labels, images->num_classes, config.data.partition,
                                      config.run.seed);
  if (!partitions.ok()) return Fail(partitions.status());

  std::printf("%s partition of %zu examples over %d clients (seed %llu)\n",
              PartitionSchemeName(config.data.partition.scheme), images->size(),
              config.data.partition.num_clients, static_cast<unsigned long long>(config.run.seed));
  std::printf("%8s %8s %8s |", "client", "examples", "classes");
  for (int k = 0; k < images->num_classes; ++k) std::printf(" %6d", k);
  std::printf("\n");
  size_t min_size = SIZE_MAX, max_size = 0;
  double mean_classes = 0.0;
  for (size_t c = 0; c < partitions->size(); ++c) {
    const ClientIndices& indices = (*partitions)[c];
    std::vector<int64_t> histogram = LabelHistogram(images->labels, images->num_classes, indices);
    int classes = 0;
    for (int64_t count : histogram) classes += count > 0;
    min_size = std::min(min_size, indices.size());
    max_size = std::max(max_size, indices.size());
    mean_classes += classes;
    if (static_cast<int>(c) < options.max_rows) {
      std::printf("%8zu %8zu %8d |", c, indices.size(), classes);
      for (int64_t count : histogram) std::printf(" %6lld", static_cast<long long>(count));
      std::printf("\n");
    }
  }
  if (static_cast<int>(partitions->size()) > options.max_rows) {
    std::printf("... %zu more clients (--rows to show more)\n",
                partitions->size() - options.max_rows);
  }
  std::printf("examples per client: min %zu, max %zu; classes per client: mean %.2f\n", min_size,
              max_size, mean_classes / partitions->size());
  return 0;
}

}  // namespace tributary
