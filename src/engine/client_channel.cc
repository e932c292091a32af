#include "engine/client_channel.h"

#include "absl/strings/str_cat.h"

namespace tributary {

absl::Status CheckClientReport(const ClientReport& report) {
  // Far above any honest round, and keeps the run's total from overflowing.
  constexpr int64_t kMaxExamplesProcessed = int64_t{1} << 32;
  if (report.examples_processed < 0 || report.examples_processed > kMaxExamplesProcessed) {
    return absl::InvalidArgumentError(
        absl::StrCat("examples_processed ", report.examples_processed, " out of range"));
  }
  // The loss and time go into the round's metrics: a cross-entropy is finite and >= 0, and no
  // round trains for more than ~4 months. NaN fails both comparisons.
  constexpr double kMaxTrainSeconds = 1e7;
  if (!(report.mean_loss >= 0.0 && report.mean_loss <= 1e9)) {
    return absl::InvalidArgumentError(
        absl::StrCat("mean_loss ", report.mean_loss, " out of range"));
  }
  if (!(report.train_seconds >= 0.0 && report.train_seconds <= kMaxTrainSeconds)) {
    return absl::InvalidArgumentError(
        absl::StrCat("train_seconds ", report.train_seconds, " out of range"));
  }
  return absl::OkStatus();
}

}  // namespace tributary
