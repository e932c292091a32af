// Coordinate-wise median (Yin et al. 2018): every coordinate of the step is the median of the
// clients' values for it (the mean of the two middle ones for an even count). Unweighted, as in
// the paper: a robust statistic should not let a client's claimed example count buy influence.
// Tolerates up to half the clients being arbitrary per coordinate. Memory: BufferedStrategy.
#ifndef TRIBUTARY_AGGREGATE_COORDINATE_MEDIAN_H_
#define TRIBUTARY_AGGREGATE_COORDINATE_MEDIAN_H_

#include "aggregate/buffered_strategy.h"

namespace tributary {

class CoordinateMedian : public BufferedStrategy {
 protected:
  absl::Status Combine(const std::vector<Buffered>& updates, std::span<float> out) override;
  const char* name() const override { return "median"; }
};

}  // namespace tributary

#endif  // TRIBUTARY_AGGREGATE_COORDINATE_MEDIAN_H_
