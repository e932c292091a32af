#include "aggregate/trimmed_mean.h"

#include <algorithm>
#include <cmath>

namespace tributary {

std::vector<ConfigField<StrategySpec>> TrimmedMeanFields() {
  return {FloatField<StrategySpec>("strategy.trim_ratio",
                                   "fraction cut at each end per coordinate (trimmed_mean)",
                                   [](StrategySpec& s) -> double& {
                                     return s.options.Mutable<TrimmedMeanOptions>().trim_ratio;
                                   })};
}

absl::StatusOr<std::unique_ptr<TrimmedMean>> TrimmedMean::Create(
    const TrimmedMeanOptions& options) {
  if (!(options.trim_ratio >= 0.0 && options.trim_ratio < 0.5)) {
    return absl::InvalidArgumentError("strategy.trim_ratio must be in [0, 0.5)");
  }
  return std::unique_ptr<TrimmedMean>(new TrimmedMean(options.trim_ratio));
}

absl::Status TrimmedMean::Combine(const std::vector<Buffered>& updates, std::span<float> out) {
  const size_t n = updates.size();
  const size_t cut = std::min((n - 1) / 2, static_cast<size_t>(std::floor(trim_ratio_ * n)));
  std::vector<float> column(n);
  for (size_t i = 0; i < out.size(); ++i) {
    for (size_t c = 0; c < n; ++c) column[c] = updates[c].delta[i];
    std::sort(column.begin(), column.end());
    double sum = 0.0;
    for (size_t c = cut; c < n - cut; ++c) sum += column[c];
    out[i] = static_cast<float>(sum / static_cast<double>(n - 2 * cut));
  }
  return absl::OkStatus();
}

}  // namespace tributary
