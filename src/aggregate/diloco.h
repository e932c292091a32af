// DiLoCo's outer step (Douillard et al. 2023): the negated mean delta is a pseudo-gradient
// g = -D, and the server takes an SGD step with Nesterov momentum on it:
//   m = momentum * m + g;   x -= server_lr * (g + momentum * m)
// (PyTorch's Nesterov form). The paper uses server_lr 0.7 and momentum 0.9 with AdamW inner
// steps. State: m, 4 bytes per parameter.
#ifndef TRIBUTARY_AGGREGATE_DILOCO_H_
#define TRIBUTARY_AGGREGATE_DILOCO_H_

#include <vector>

#include "aggregate/fedavg.h"

namespace tributary {

class DiLoCo : public FedAvg {
 public:
  explicit DiLoCo(const StrategySpec& spec) : FedAvg(spec.mask_aware), spec_(spec) {}

  std::vector<std::vector<float>*> carried_state() override { return {&m_}; }

 protected:
  void Step(std::span<float> model, std::span<const double> sum, double inverse_weight) override;

 private:
  StrategySpec spec_;
  std::vector<float> m_;
};

}  // namespace tributary

#endif  // TRIBUTARY_AGGREGATE_DILOCO_H_
