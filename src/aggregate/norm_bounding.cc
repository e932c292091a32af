#include "aggregate/norm_bounding.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace tributary {

std::vector<ConfigField<StrategySpec>> NormBoundingFields() {
  return {FloatField<StrategySpec>(
      "strategy.norm_bound", "L2 bound on each update (norm_bounding)",
      [](StrategySpec& s) -> double& { return s.options.Mutable<NormBoundingOptions>().bound; })};
}

absl::StatusOr<std::unique_ptr<NormBounding>> NormBounding::Create(
    const NormBoundingOptions& options, bool mask_aware) {
  if (!(options.bound > 0.0 && options.bound <= 1e9)) {
    return absl::InvalidArgumentError("strategy.norm_bound must be in (0, 1e9]");
  }
  return std::unique_ptr<NormBounding>(new NormBounding(options.bound, mask_aware));
}

absl::Status NormBounding::Accumulate(const ClientUpdate& update) {
  TRIB_RETURN_IF_ERROR(CheckFinite(update));
  std::span<const float> delta = update.delta->flat();
  double squared = 0.0;
  for (float v : delta) squared += static_cast<double>(v) * v;
  const double norm = std::sqrt(squared);
  if (norm <= bound_) return FedAvg::Accumulate(update);
  clipped_ = *update.delta;
  const float scale = static_cast<float>(bound_ / norm);
  for (float& v : clipped_.flat()) v *= scale;
  ClientUpdate clipped = update;
  clipped.delta = &clipped_;
  return FedAvg::Accumulate(clipped);
}

}  // namespace tributary
