// Server optimizers on the round's mean delta (Reddi et al. 2021, "Adaptive Federated
// Optimization"; FedAvgM: Hsu et al. 2019). The clients' example-weighted mean delta D (exact,
// as in FedAvg) is treated as a pseudo-gradient step:
//   fedavgm:    m = momentum * m + D                     x += server_lr * m
//   fedadagrad: m = b1 m + (1 - b1) D;  v = v + D^2      x += server_lr * m / (sqrt(v) + tau)
//   fedadam:    m as above;  v = b2 v + (1 - b2) D^2     (same step)
//   fedyogi:    m as above;  v = v - (1 - b2) D^2 sign(v - D^2)
// v starts at tau^2. State (m, v) lives on the server, 4 or 8 bytes per parameter.
// With strategy.bias_correction, fedadam is Adam proper: v starts at 0 and the step uses
// m / (1 - b1^t) and v / (1 - b2^t) at round t. With clients that take one plain SGD step of
// learning rate 1 (delta = -gradient) this is synchronous data-parallel Adam.
#ifndef TRIBUTARY_AGGREGATE_FED_OPT_H_
#define TRIBUTARY_AGGREGATE_FED_OPT_H_

#include <vector>

#include "aggregate/fedavg.h"

namespace tributary {

enum class ServerOptimizer { kMomentum, kAdagrad, kAdam, kYogi };

class FedOpt : public FedAvg {
 public:
  FedOpt(ServerOptimizer kind, const StrategySpec& spec)
      : FedAvg(spec.mask_aware), kind_(kind), spec_(spec) {}

  std::vector<std::vector<float>*> carried_state() override { return {&m_, &v_, &rounds_}; }

 protected:
  void Step(std::span<float> model, std::span<const double> sum, double inverse_weight) override;

 private:
  ServerOptimizer kind_;
  StrategySpec spec_;
  std::vector<float> m_, v_;         // sized on the first round
  std::vector<float> rounds_{0.0f};  // steps taken (bias correction); a vector for checkpoints
};

}  // namespace tributary

#endif  // TRIBUTARY_AGGREGATE_FED_OPT_H_
