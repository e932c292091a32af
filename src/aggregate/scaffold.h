// SCAFFOLD (Karimireddy et al. 2020), option II: clients correct every local gradient by
// (c - c_i), the server's and their own control variates, which cancels the client drift that
// non-IID data causes. After training for K steps at learning rate lr, client i sets
//   c_i+ = c_i - c - delta / (K lr)    and sends delta and dc_i = c_i+ - c_i.
// The server applies the example-weighted mean delta (as FedAvg) and c += sum(dc_i) / N over
// the N clients of the population. The control variates' bytes are counted: dc_i goes up
// through the uplink codec, c comes down as fp32 (the simulator does both).
//
// Memory: c and an fp64 sum for the dc_i on the server (12 B/param); each client keeps c_i.
#ifndef TRIBUTARY_AGGREGATE_SCAFFOLD_H_
#define TRIBUTARY_AGGREGATE_SCAFFOLD_H_

#include <optional>

#include "aggregate/fedavg.h"

namespace tributary {

class Scaffold : public FedAvg {
 public:
  // `population`: N, the number of clients (>= 1).
  explicit Scaffold(int64_t population) : population_(population) {}
  absl::Status Init(const ModelState& global, int64_t expected_examples) override;
  // Requires update.control_delta.
  absl::Status Accumulate(const ClientUpdate& update) override;
  absl::StatusOr<ModelState> Finalize() override;
  const ModelState* server_control() const override { return &control_; }
  // c, so that a resumed run continues with the clients' drift correction.
  std::vector<std::vector<float>*> carried_state() override { return {&carried_control_}; }

 private:
  int64_t population_;
  ModelState control_;                  // c
  std::vector<float> carried_control_;  // c's values after the last round (checkpoints)
  std::optional<OrderInvariantSum> control_sum_;
};

}  // namespace tributary

#endif  // TRIBUTARY_AGGREGATE_SCAFFOLD_H_
