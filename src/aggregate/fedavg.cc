#include "aggregate/fedavg.h"

#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace tributary {

absl::Status FedAvg::Init(const ModelState& global, int64_t expected_examples) {
  if (expected_examples <= 0) {
    return absl::InvalidArgumentError("FedAvg needs a positive expected example count");
  }
  global_ = global;
  expected_examples_ = expected_examples;
  in_round_ = true;
  if (sum_.has_value() && sum_->dimension() == global.num_elements()) {
    sum_->Reset();
  } else {
    sum_.emplace(global.num_elements());
  }
  if (mask_aware_) coverage_.assign(global.num_elements(), 0.0);
  return absl::OkStatus();
}

absl::Status FedAvg::Accumulate(const ClientUpdate& update) {
  if (!in_round_) return absl::FailedPreconditionError("FedAvg::Accumulate outside a round");
  TRIB_RETURN_IF_ERROR(CheckClientUpdate(update, global_, expected_examples_));
  // Normalizing by the round's expected total keeps weights in [0, 1], as the sum requires.
  const double weight = static_cast<double>(update.num_examples) / expected_examples_;
  absl::Status status = sum_->Add(update.delta->flat(), weight);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("client ", update.client_id, ": ", status.message()));
  }
  if (mask_aware_) {
    const double rounded = RoundToSumGrid(weight);
    if (update.sent == nullptr) {
      for (double& c : coverage_) c += rounded;
    } else {
      for (uint32_t i : *update.sent) {
        if (i < coverage_.size()) coverage_[i] += rounded;
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ModelState> FedAvg::Finalize() {
  if (!in_round_) return absl::FailedPreconditionError("FedAvg::Finalize outside a round");
  if (sum_->total_weight() == 0.0) {
    return absl::FailedPreconditionError("FedAvg: no client update was accepted this round");
  }
  // Updated in place and moved out: no second model-sized allocation. Init() must come next.
  ModelState next = std::move(global_);
  Step(next.flat(), sum_->sum(), 1.0 / sum_->total_weight());
  in_round_ = false;
  return next;
}

void FedAvg::Step(std::span<float> model, std::span<const double> sum, double inverse_weight) {
  for (size_t i = 0; i < model.size(); ++i) {
    model[i] =
        static_cast<float>(static_cast<double>(model[i]) + MeanDelta(sum, inverse_weight, i));
  }
}

}  // namespace tributary
