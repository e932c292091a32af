// Partitioners: which training examples each client holds. A partition is a list of example
// indices per client (never a copy of the data); every example goes to exactly one client.
#ifndef TRIBUTARY_DATA_PARTITION_H_
#define TRIBUTARY_DATA_PARTITION_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tributary {

enum class PartitionScheme {
  kIid,        // uniformly shuffled, equal-sized shares
  kDirichlet,  // per class, shares drawn from Dirichlet(alpha): label skew grows as alpha falls
  kShards,     // each client holds exactly k classes, each class split evenly among its holders
  // Natural owners: the label names each example's owner (e.g. a text's author); owners, in label
  // order, are grouped into num_clients contiguous groups of about equal example counts (one
  // owner per client when there are as many clients as owners).
  kNatural,
};

absl::StatusOr<PartitionScheme> ParsePartitionScheme(const std::string& name);
const char* PartitionSchemeName(PartitionScheme scheme);

struct PartitionOptions {
  PartitionScheme scheme = PartitionScheme::kIid;
  int num_clients = 100;
  double alpha = 0.5;         // kDirichlet
  int shards_per_client = 2;  // kShards: classes per client
};

using ClientIndices = std::vector<uint32_t>;

// Splits examples with the given labels (each in [0, num_classes)) among clients; `seed` fixes
// the result. Errors for impossible requests (more clients than examples, alpha <= 0, ...).
absl::StatusOr<std::vector<ClientIndices>> PartitionExamples(std::span<const uint8_t> labels,
                                                             int num_classes,
                                                             const PartitionOptions& options,
                                                             uint64_t seed);

// The natural partition by an owner column of any size (a CSV's client column, a JSONL field):
// owners[i] in [0, num_owners) is example i's owner; owners are grouped in index order as
// PartitionScheme::kNatural describes.
absl::StatusOr<std::vector<ClientIndices>> PartitionByOwner(std::span<const uint32_t> owners,
                                                            int num_owners, int num_clients);

// Count of each label among `indices`.
std::vector<int64_t> LabelHistogram(std::span<const uint8_t> labels, int num_classes,
                                    std::span<const uint32_t> indices);

// A single client's view of the partitions: its own renumbered 0..n-1 (its examples kept apart,
// in partition order), every other emptied.
void KeepOnlyPartition(std::vector<ClientIndices>& partitions, uint32_t client);

// Each client's held-out examples (for per-client evaluation): a seeded `fraction` of its
// partition (at least one when it has two or more), removed from the examples it trains on.
std::vector<ClientIndices> SplitHoldout(std::vector<ClientIndices>& partitions, double fraction,
                                        uint64_t seed);

}  // namespace tributary

#endif  // TRIBUTARY_DATA_PARTITION_H_
