// FedAvg over count-sketched updates, FetchSGD's server step (Rothchild et al. 2020, without
// server momentum). Clients send sketches of their deltas; the server takes their
// example-weighted mean *as tables* (sketching is linear, so that is the sketch of the mean
// delta), adds it to an error table S_e it keeps across rounds, unsketches the top-k of S_e as
// the step and applies it to the global model. What the top-k left out stays in S_e and can win
// later rounds: error feedback on the server, with stateless clients.
//
// After a step, the buckets its coordinates hash to are zeroed in S_e (as FetchSGD's reference
// code does) rather than the step's sketch subtracted: subtracting leaves the estimation noise of
// every applied coordinate in S_e, and on Fashion-MNIST (Dirichlet 0.5, 5 x 7400 table) that
// noise piled up until training diverged at round 15; zeroing reached 83% at round 20.
//
// The mean is an OrderInvariantSum, so the result does not depend on arrival order. Memory: the
// error table plus an fp64 accumulator of the same size, independent of the number of clients.
#ifndef TRIBUTARY_AGGREGATE_SKETCHED_FEDAVG_H_
#define TRIBUTARY_AGGREGATE_SKETCHED_FEDAVG_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compress/sketch_codec.h"
#include "tensor/model_state.h"
#include "tensor/order_invariant_sum.h"

namespace tributary {

class SketchedFedAvg {
 public:
  // `codec` must outlive this object.
  explicit SketchedFedAvg(const SketchCodec& codec);

  // Starts a round; `expected_examples` as in Strategy::Init.
  absl::Status Init(int64_t expected_examples);
  // Folds one client's table in. On error nothing is aggregated.
  absl::Status Accumulate(uint32_t client_id, std::span<const float> table, int64_t num_examples);
  // Applies this round's step to `global` and returns it. Fails when no table was accepted.
  absl::StatusOr<ModelState> Finalize(ModelState global);

  std::span<const float> error_table() const { return error_; }
  // For checkpoints: restored (same size) between rounds.
  std::vector<float>* mutable_error_table() { return &error_; }

 private:
  const SketchCodec& codec_;
  std::vector<float> error_;  // S_e
  OrderInvariantSum sum_;
  int64_t expected_examples_ = 0;
  bool in_round_ = false;
};

}  // namespace tributary

#endif  // TRIBUTARY_AGGREGATE_SKETCHED_FEDAVG_H_
