// The parameters of one secure-aggregation round and the neighbourhood graph they imply.
// SecAgg+ (Bell et al. 2020) masks and shares each client's secrets among its k neighbours in a
// random Harary graph; with k >= n - 1 the graph is complete and the protocol is that of
// Bonawitz et al. 2017.
#ifndef TRIBUTARY_SECAGG_SECAGG_PARAMS_H_
#define TRIBUTARY_SECAGG_SECAGG_PARAMS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tributary {

struct SecAggParams {
  int num_clients = 0;  // n, the round's cohort; clients are numbered 0..n-1
  // k, each client's neighbours (they hold its shares and share a pairwise mask with it); 0 or
  // >= n - 1: everyone (the complete graph). Rounded up to even for the Harary graph.
  int neighbors = 0;
  // t: shares needed to recover a client's secret, and survivors needed at every stage.
  int threshold = 0;
  uint64_t graph_seed = 0;   // relabels the Harary graph; known to every party of the round
  size_t vector_length = 0;  // ring elements per input
  int input_bits = 16;       // each input element is in [0, 2^input_bits)

  // The degree k actually used (n - 1 for the complete graph).
  int Degree() const;
};

// Checks the parameters against the protocol's conditions: 1 <= t <= k (a client's secret must
// be recoverable from its neighbours), t > k / 2 (a server that lies about who dropped cannot
// collect t shares of both a client's mask key and its self-mask seed), and
// input_bits + ceil(log2 n) <= 32 (the sum of n inputs cannot wrap the 2^32 ring).
absl::Status ValidateSecAggParams(const SecAggParams& params);

// Each client's neighbours, sorted, not including itself: a Harary graph H(k, n) (client i at
// position p is joined to the k/2 positions on each side of p on a ring) over a random
// permutation of the clients drawn from graph_seed; the complete graph when k >= n - 1.
std::vector<std::vector<uint32_t>> NeighborGraph(const SecAggParams& params);

}  // namespace tributary

#endif  // TRIBUTARY_SECAGG_SECAGG_PARAMS_H_
