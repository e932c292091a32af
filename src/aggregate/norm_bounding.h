// Norm bounding (Sun et al. 2019, "Can you really backdoor federated learning?"): every update
// whose L2 norm exceeds `norm_bound` is scaled down to it, then FedAvg. Streams like FedAvg
// (one scratch copy of the model besides). Non-finite updates are rejected first.
#ifndef TRIBUTARY_AGGREGATE_NORM_BOUNDING_H_
#define TRIBUTARY_AGGREGATE_NORM_BOUNDING_H_

#include "aggregate/fedavg.h"

namespace tributary {

class NormBounding : public FedAvg {
 public:
  NormBounding(double bound, bool mask_aware) : FedAvg(mask_aware), bound_(bound) {}
  absl::Status Accumulate(const ClientUpdate& update) override;

 private:
  double bound_;
  ModelState clipped_;
};

}  // namespace tributary

#endif  // TRIBUTARY_AGGREGATE_NORM_BOUNDING_H_
