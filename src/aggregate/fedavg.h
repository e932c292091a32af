// FedAvg (McMahan et al. 2017): the next global model is the global model plus the mean of the
// clients' deltas weighted by their example counts.
//
// The weighted sum is an OrderInvariantSum, so the result is bitwise independent of the order in
// which clients finish. Memory: the global model (fp32) plus an fp64 accumulator, 12 bytes per
// parameter, whatever the number of clients.
#ifndef TRIBUTARY_AGGREGATE_FEDAVG_H_
#define TRIBUTARY_AGGREGATE_FEDAVG_H_

#include <optional>

#include "aggregate/strategy.h"
#include "tensor/order_invariant_sum.h"

namespace tributary {

class FedAvg : public Strategy {
 public:
  FedAvg() = default;
  // `mask_aware`: each coordinate's mean is over the clients whose update holds it (their
  // weights renormalized per coordinate), as in OPWA; coordinates nobody sent stay put.
  explicit FedAvg(bool mask_aware) : mask_aware_(mask_aware) {}
  absl::Status Init(const ModelState& global, int64_t expected_examples) override;
  absl::Status Accumulate(const ClientUpdate& update) override;
  // Ends the round; the next call must be Init().
  absl::StatusOr<ModelState> Finalize() override;

 protected:
  // Moves `model` by the round's mean delta, sum[i] * inverse_weight. FedAvg adds it; server
  // optimizers (FedOpt, DiLoCo) override this and keep their state across rounds.
  virtual void Step(std::span<float> model, std::span<const double> sum, double inverse_weight);
  // The mean delta of coordinate i: sum[i] * inverse_weight, or with mask-aware averaging
  // sum[i] / (weight of the clients that sent i).
  double MeanDelta(std::span<const double> sum, double inverse_weight, size_t i) const {
    if (!mask_aware_) return sum[i] * inverse_weight;
    return coverage_[i] > 0.0 ? sum[i] / coverage_[i] : 0.0;
  }
  // Whether some client sent coordinate i (always, without mask-aware averaging). A server
  // optimizer leaves the others, and its state for them, as they are.
  bool Covered(size_t i) const { return !mask_aware_ || coverage_[i] > 0.0; }

 private:
  ModelState global_;
  int64_t expected_examples_ = 0;
  bool in_round_ = false;  // between Init() and Finalize()
  std::optional<OrderInvariantSum> sum_;
  bool mask_aware_ = false;
  // Per coordinate, the (grid-rounded, so exactly summed) weight of the clients that sent it.
  std::vector<double> coverage_;
};

}  // namespace tributary

#endif  // TRIBUTARY_AGGREGATE_FEDAVG_H_
