// A learning rate's shape over steps: a linear warm-up to the peak, then (optionally) a cosine
// decay to a floor, the schedule of the DiLoCo paper's inner AdamW and of most language-model
// pre-training (Chinchilla decays to a tenth of the peak, the default floor here).
#ifndef TRIBUTARY_COMMON_LEARNING_RATE_SCHEDULE_H_
#define TRIBUTARY_COMMON_LEARNING_RATE_SCHEDULE_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>

namespace tributary {

struct LearningRateSchedule {
  int64_t warmup = 0;  // the factor rises linearly over steps 1..warmup
  int64_t decay_until =
      0;                   // cosine from the end of warm-up down to min_ratio at this step; 0: none
  double min_ratio = 0.1;  // the floor of the decay, as a fraction of the peak

  // The multiplier of the peak learning rate at `step` (1-based); constant after decay_until.
  double Factor(int64_t step) const {
    if (warmup > 0 && step < warmup) return static_cast<double>(step) / warmup;
    if (decay_until <= warmup) return 1.0;
    const double progress =
        std::clamp(static_cast<double>(step - warmup) / (decay_until - warmup), 0.0, 1.0);
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  }
};

}  // namespace tributary

#endif  // TRIBUTARY_COMMON_LEARNING_RATE_SCHEDULE_H_
