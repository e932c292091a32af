#include "aggregate/scaffold.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace tributary {

absl::Status Scaffold::Init(const ModelState& global, int64_t expected_examples) {
  if (population_ < 1) return absl::InvalidArgumentError("SCAFFOLD needs the population size");
  TRIB_RETURN_IF_ERROR(FedAvg::Init(global, expected_examples));
  if (!control_.SameLayout(global)) {
    control_ = global.ZerosLike();
    // Restored from a checkpoint before the first round of this process.
    if (carried_control_.size() == control_.num_elements()) {
      std::copy(carried_control_.begin(), carried_control_.end(), control_.flat().begin());
    }
  }
  if (control_sum_.has_value() && control_sum_->dimension() == global.num_elements()) {
    control_sum_->Reset();
  } else {
    control_sum_.emplace(global.num_elements());
  }
  return absl::OkStatus();
}

absl::Status Scaffold::Accumulate(const ClientUpdate& update) {
  if (update.control_delta == nullptr || !update.control_delta->SameLayout(control_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("client ", update.client_id, ": SCAFFOLD needs its control variate change"));
  }
  // Check the control change before anything is added, so that a rejected update leaves both
  // sums untouched (the checks are those OrderInvariantSum::Add makes).
  for (float v : update.control_delta->flat()) {
    if (!(std::fabs(v) < OrderInvariantSum::kMaxValue)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "client ", update.client_id, ": control variate change is not finite or too large"));
    }
  }
  TRIB_RETURN_IF_ERROR(FedAvg::Accumulate(update));
  return control_sum_->Add(update.control_delta->flat(), 1.0 / population_);
}

absl::StatusOr<ModelState> Scaffold::Finalize() {
  TRIB_ASSIGN_OR_RETURN(ModelState next, FedAvg::Finalize());
  std::span<float> c = control_.flat();
  std::span<const double> sum = control_sum_->sum();
  for (size_t i = 0; i < c.size(); ++i) {
    c[i] = static_cast<float>(static_cast<double>(c[i]) + sum[i]);
  }
  carried_control_.assign(c.begin(), c.end());
  return next;
}

}  // namespace tributary
