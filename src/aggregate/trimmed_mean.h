// Coordinate-wise trimmed mean (Yin et al. 2018): for every coordinate, the floor(trim_ratio * n)
// largest and as many smallest client values are dropped and the rest averaged (unweighted, as
// in the paper). trim_ratio in [0, 0.5): at least one value always remains. Memory:
// BufferedStrategy.
#ifndef TRIBUTARY_AGGREGATE_TRIMMED_MEAN_H_
#define TRIBUTARY_AGGREGATE_TRIMMED_MEAN_H_

#include "aggregate/buffered_strategy.h"

namespace tributary {

// strategy.trim_ratio, read by trimmed_mean only.
struct TrimmedMeanOptions {
  double trim_ratio = 0.2;  // fraction cut at each end, per coordinate
};
std::vector<ConfigField<StrategySpec>> TrimmedMeanFields();

class TrimmedMean : public BufferedStrategy {
 public:
  // Fails unless trim_ratio is in [0, 0.5).
  static absl::StatusOr<std::unique_ptr<TrimmedMean>> Create(const TrimmedMeanOptions& options);

 protected:
  absl::Status Combine(const std::vector<Buffered>& updates, std::span<float> out) override;
  const char* name() const override { return "trimmed_mean"; }

 private:
  explicit TrimmedMean(double trim_ratio) : trim_ratio_(trim_ratio) {}
  double trim_ratio_;
};

}  // namespace tributary

#endif  // TRIBUTARY_AGGREGATE_TRIMMED_MEAN_H_
