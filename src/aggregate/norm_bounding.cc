#include "aggregate/norm_bounding.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace tributary {

absl::Status NormBounding::Accumulate(const ClientUpdate& update) {
  if (update.delta == nullptr) return absl::InvalidArgumentError("norm_bounding: no update");
  std::span<const float> delta = update.delta->flat();
  if (!AllFinite(delta)) {
    return absl::InvalidArgumentError(
        absl::StrCat("client ", update.client_id, ": update holds a non-finite value"));
  }
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
