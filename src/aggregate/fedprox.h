// FedProx (Li et al. 2020): FedAvg aggregation; each client adds mu / 2 * ||w - w_global||^2 to
// its local loss, which keeps heterogeneous clients from drifting far from the global model.
// The term is applied by the local trainer (TrainOptions::proximal_mu).
#ifndef TRIBUTARY_AGGREGATE_FEDPROX_H_
#define TRIBUTARY_AGGREGATE_FEDPROX_H_

#include "aggregate/fedavg.h"

namespace tributary {

class FedProx : public FedAvg {
 public:
  FedProx(double mu, bool mask_aware) : FedAvg(mask_aware), mu_(mu) {}
  double proximal_mu() const override { return mu_; }

 private:
  double mu_;
};

}  // namespace tributary

#endif  // TRIBUTARY_AGGREGATE_FEDPROX_H_
