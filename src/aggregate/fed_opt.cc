#include "aggregate/fed_opt.h"

#include <cmath>

#include "common/learning_rate_schedule.h"

namespace tributary {

void FedOpt::Step(std::span<float> model, std::span<const double> sum, double inverse_weight) {
  const size_t n = model.size();
  const bool corrected = spec_.bias_correction && kind_ == ServerOptimizer::kAdam;
  if (m_.size() != n) {
    m_.assign(n, 0.0f);
    v_.assign(kind_ == ServerOptimizer::kMomentum ? 0 : n,
              corrected ? 0.0f : static_cast<float>(spec_.tau * spec_.tau));
  }
  if (rounds_.size() != 1) rounds_.assign(1, 0.0f);
  rounds_[0] += 1.0f;
  const LearningRateSchedule schedule{.warmup = spec_.warmup_rounds,
                                      .decay_until = spec_.decay_rounds,
                                      .min_ratio = spec_.min_lr_ratio};
  const float lr =
      static_cast<float>(spec_.server_lr * schedule.Factor(static_cast<int64_t>(rounds_[0])));
  if (kind_ == ServerOptimizer::kMomentum) {
    const float momentum = static_cast<float>(spec_.momentum);
    for (size_t i = 0; i < n; ++i) {
      if (!Covered(i)) continue;
      m_[i] = momentum * m_[i] + static_cast<float>(MeanDelta(sum, inverse_weight, i));
      model[i] += lr * m_[i];
    }
    return;
  }
  const float b1 = static_cast<float>(spec_.beta1), b2 = static_cast<float>(spec_.beta2);
  const float tau = static_cast<float>(spec_.tau);
  // Bias correction divides m by 1 - b1^t and v by 1 - b2^t.
  const float m_scale =
      corrected ? static_cast<float>(1.0 / (1.0 - std::pow(spec_.beta1, rounds_[0]))) : 1.0f;
  const float v_scale =
      corrected ? static_cast<float>(1.0 / (1.0 - std::pow(spec_.beta2, rounds_[0]))) : 1.0f;
  for (size_t i = 0; i < n; ++i) {
    if (!Covered(i)) continue;
    const float d = static_cast<float>(MeanDelta(sum, inverse_weight, i));
    const float d2 = d * d;
    m_[i] = b1 * m_[i] + (1.0f - b1) * d;
    switch (kind_) {
      case ServerOptimizer::kAdagrad:
        v_[i] += d2;
        break;
      case ServerOptimizer::kAdam:
        v_[i] = b2 * v_[i] + (1.0f - b2) * d2;
        break;
      case ServerOptimizer::kYogi: {
        const float gap = v_[i] - d2;
        v_[i] -= (1.0f - b2) * d2 * static_cast<float>((gap > 0.0f) - (gap < 0.0f));
        break;
      }
      case ServerOptimizer::kMomentum:
        break;
    }
    model[i] += lr * m_[i] * m_scale / (std::sqrt(v_[i] * v_scale) + tau);
  }
}

}  // namespace tributary
