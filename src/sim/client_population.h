// The virtual clients of a simulation. A client that is not training costs only its example
// index list; models and optimizer state live in the workers, not in the clients.
//
// Thread-safety: immutable after construction.
#ifndef TRIBUTARY_SIM_CLIENT_POPULATION_H_
#define TRIBUTARY_SIM_CLIENT_POPULATION_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "data/partition.h"

namespace tributary {

class ClientPopulation {
 public:
  explicit ClientPopulation(std::vector<ClientIndices> partitions)
      : partitions_(std::move(partitions)) {}

  size_t size() const { return partitions_.size(); }
  std::span<const uint32_t> examples(uint32_t client) const { return partitions_.at(client); }

  // `count` distinct clients for `round`, uniformly at random (fixed by seed and round),
  // in increasing id order. Fails when count is not in [1, size()].
  absl::StatusOr<std::vector<uint32_t>> Sample(int count, uint64_t seed, int round) const;

 private:
  std::vector<ClientIndices> partitions_;
};

// The same sample for a federation known only by its size (the deployed server).
absl::StatusOr<std::vector<uint32_t>> SampleClients(size_t population, int count, uint64_t seed,
                                                    int round);

}  // namespace tributary

#endif  // TRIBUTARY_SIM_CLIENT_POPULATION_H_
