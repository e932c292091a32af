#include "deploy/protocol_checks.h"

#include "absl/strings/str_cat.h"

namespace tributary {

absl::Status CheckRegistration(uint32_t client, int64_t num_examples, double uplink_mbps,
                               int num_clients) {
  if (client >= static_cast<uint32_t>(num_clients)) {
    return absl::InvalidArgumentError(absl::StrCat("client id ", client, " >= data.num_clients"));
  }
  // Bounded so that a cohort's total cannot overflow (10^7 clients x 10^9 examples < 2^63).
  constexpr int64_t kMaxClientExamples = 1000000000;
  if (num_examples < 1 || num_examples > kMaxClientExamples) {
    return absl::InvalidArgumentError(absl::StrCat("a client holds between 1 and ",
                                                   kMaxClientExamples, " training examples, not ",
                                                   num_examples));
  }
  // Faster than any link there is; NaN fails the comparison too.
  constexpr double kMaxMbps = 1e7;
  if (!(uplink_mbps >= 0.0 && uplink_mbps <= kMaxMbps)) {
    return absl::InvalidArgumentError(
        absl::StrCat("declared uplink bandwidth ", uplink_mbps, " Mbit/s out of range"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ClientUpload> UploadFromMessages(const v1::UploadHeader& header, Payload payload) {
  const int64_t attachment_bytes = header.attachment_bytes();
  if (attachment_bytes < 0 || attachment_bytes > static_cast<int64_t>(payload.size())) {
    return absl::InvalidArgumentError("attachment_bytes out of range");
  }
  ClientUpload upload{.report = {.client = header.client_id(),
                                 .round = header.round(),
                                 .num_examples = header.num_examples(),
                                 .mean_loss = header.mean_loss(),
                                 .train_seconds = header.train_seconds(),
                                 .examples_processed = header.examples_processed()}};
  const size_t update_bytes = payload.size() - static_cast<size_t>(attachment_bytes);
  upload.attachment.assign(payload.begin() + update_bytes, payload.end());
  payload.resize(update_bytes);
  upload.update = std::move(payload);
  return upload;
}

}  // namespace tributary
