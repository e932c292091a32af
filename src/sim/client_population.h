// The virtual clients of a simulation. A client that is not training costs only its example
// index list; models and optimizer state live in the workers, not in the clients.
//
// Thread-safety: immutable after construction.
#ifndef TRIBUTARY_SIM_CLIENT_POPULATION_H_
#define TRIBUTARY_SIM_CLIENT_POPULATION_H_

#include <cstdint>
#include <span>
#include <string_view>
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

// How a round's cohort is drawn (run.sampling): a fixed number of clients, or each client
// independently with probability q = clients_per_round / num_clients (Poisson sampling, what the
// privacy accountant analyses). kAuto: Poisson when privacy is on, else fixed.
enum class ClientSampling { kAuto, kFixed, kPoisson };
absl::StatusOr<ClientSampling> ParseClientSampling(std::string_view name);
std::string_view ClientSamplingName(ClientSampling sampling);

// Each of `population` clients independently with probability q, fixed by seed and round, in
// increasing id order; may be empty.
std::vector<uint32_t> SamplePoisson(size_t population, double q, uint64_t seed, int round);

}  // namespace tributary

#endif  // TRIBUTARY_SIM_CLIENT_POPULATION_H_
