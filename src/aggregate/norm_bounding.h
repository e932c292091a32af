// Norm bounding (Sun et al. 2019, "Can you really backdoor federated learning?"): every update
// whose L2 norm exceeds `norm_bound` is scaled down to it, then FedAvg. Streams like FedAvg
// (one scratch copy of the model besides). Non-finite updates are rejected first.
#ifndef TRIBUTARY_AGGREGATE_NORM_BOUNDING_H_
#define TRIBUTARY_AGGREGATE_NORM_BOUNDING_H_

#include "aggregate/fedavg.h"

namespace tributary {

// strategy.norm_bound, read by norm_bounding only.
struct NormBoundingOptions {
  double bound = 1.0;  // updates clipped to this L2 norm
};
std::vector<ConfigField<StrategySpec>> NormBoundingFields();

class NormBounding : public FedAvg {
 public:
  // Fails unless the bound is positive and finite.
  static absl::StatusOr<std::unique_ptr<NormBounding>> Create(const NormBoundingOptions& options,
                                                              bool mask_aware);
  absl::Status Accumulate(const ClientUpdate& update) override;

 private:
  NormBounding(double bound, bool mask_aware) : FedAvg(mask_aware), bound_(bound) {}
  double bound_;
  ModelState clipped_;
};

}  // namespace tributary

#endif  // TRIBUTARY_AGGREGATE_NORM_BOUNDING_H_
