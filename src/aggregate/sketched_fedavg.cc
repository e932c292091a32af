#include "aggregate/sketched_fedavg.h"

#include "absl/strings/str_cat.h"

namespace tributary {

SketchedFedAvg::SketchedFedAvg(const SketchCodec& codec)
    : codec_(codec), error_(codec.table_size(), 0.0f), sum_(codec.table_size()) {}

absl::Status SketchedFedAvg::Init(int64_t expected_examples) {
  if (expected_examples <= 0) {
    return absl::InvalidArgumentError("sketched FedAvg needs a positive expected example count");
  }
  if (error_.size() != codec_.table_size()) {
    return absl::InvalidArgumentError("sketched FedAvg: restored error table has the wrong size");
  }
  expected_examples_ = expected_examples;
  sum_.Reset();
  in_round_ = true;
  return absl::OkStatus();
}

absl::Status SketchedFedAvg::Accumulate(uint32_t client_id, std::span<const float> table,
                                        int64_t num_examples) {
  if (!in_round_)
    return absl::FailedPreconditionError("SketchedFedAvg::Accumulate outside a round");
  if (num_examples <= 0 || num_examples > expected_examples_) {
    return absl::InvalidArgumentError(absl::StrCat("client ", client_id, ": example count ",
                                                   num_examples, " outside [1, ",
                                                   expected_examples_, "]"));
  }
  absl::Status status = sum_.Add(table, static_cast<double>(num_examples) / expected_examples_);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("client ", client_id, ": ", status.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<ModelState> SketchedFedAvg::Finalize(ModelState global) {
  if (!in_round_) return absl::FailedPreconditionError("SketchedFedAvg::Finalize outside a round");
  in_round_ = false;
  if (sum_.total_weight() == 0.0) {
    return absl::FailedPreconditionError("sketched FedAvg: no client update was accepted");
  }
  const double inverse_weight = 1.0 / sum_.total_weight();
  std::span<const double> sum = sum_.sum();
  for (size_t i = 0; i < error_.size(); ++i) {
    error_[i] = static_cast<float>(error_[i] + sum[i] * inverse_weight);
  }
  std::vector<uint32_t> indices;
  std::vector<float> step;
  std::span<float> flat = global.flat();
  codec_.Unsketch(error_, flat.size(), &indices, &step);
  for (size_t j = 0; j < indices.size(); ++j) flat[indices[j]] += step[j];
  codec_.ZeroBuckets(indices, error_);
  return global;
}

}  // namespace tributary
