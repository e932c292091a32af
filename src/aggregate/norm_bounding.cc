#include "aggregate/norm_bounding.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace tributary {

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
