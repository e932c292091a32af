#include "compress/error_feedback.h"

#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace tributary {

absl::StatusOr<Payload> EncodeWithErrorFeedback(const Pipeline& pipeline, std::span<const float> x,
                                                const CodecContext& context) {
  std::vector<float>& residual = context.state->residual;
  if (residual.empty()) residual.assign(x.size(), 0.0f);
  if (residual.size() != x.size()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "error-feedback residual has ", residual.size(), " values, update has ", x.size()));
  }
  for (size_t i = 0; i < x.size(); ++i) residual[i] += x[i];  // residual now holds p
  CodecContext contracted = context;
  contracted.contract = true;
  Payload payload = pipeline.Encode(residual, contracted);
  TRIB_ASSIGN_OR_RETURN(Update sent, pipeline.Decode(payload, x.size(), context.layout));
  if (sent.sparse) {
    for (size_t j = 0; j < sent.indices.size(); ++j) residual[sent.indices[j]] -= sent.values[j];
  } else {
    for (size_t i = 0; i < x.size(); ++i) residual[i] -= sent.values[i];
  }
  return payload;
}

}  // namespace tributary
