#include "aggregate/diloco.h"

namespace tributary {

void DiLoCo::Step(std::span<float> model, std::span<const double> sum, double inverse_weight) {
  if (m_.size() != model.size()) m_.assign(model.size(), 0.0f);
  const float lr = static_cast<float>(spec_.server_lr);
  const float momentum = static_cast<float>(spec_.momentum);
  for (size_t i = 0; i < model.size(); ++i) {
    if (!Covered(i)) continue;
    const float g = -static_cast<float>(MeanDelta(sum, inverse_weight, i));
    m_[i] = momentum * m_[i] + g;
    model[i] -= lr * (g + momentum * m_[i]);
  }
}

}  // namespace tributary
