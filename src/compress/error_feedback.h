// Error feedback (Stich et al. 2018; Karimireddy et al. 2019): what a lossy codec dropped is
// kept in a per-client residual and added to the next update, so nothing is lost for good.
//   p = x + residual;  sent = Decode(Encode(p));  residual = p - sent
// so sent + residual equals p up to one float rounding of the subtraction (exactly for the
// coordinates a sparsifier keeps or drops). Stochastic unbiased stages encode contracted
// (CodecContext::contract): scaled by 1 / (1 + their variance), so the residual stays bounded.
#ifndef TRIBUTARY_COMPRESS_ERROR_FEEDBACK_H_
#define TRIBUTARY_COMPRESS_ERROR_FEEDBACK_H_

#include <vector>

#include "absl/status/statusor.h"
#include "compress/pipeline.h"

namespace tributary {

// Encodes x + context.state->residual and updates the residual. Requires: context.state. Fails
// if the pipeline cannot decode its own payload (a bug) or the residual has the wrong size.
absl::StatusOr<Payload> EncodeWithErrorFeedback(const Pipeline& pipeline, std::span<const float> x,
                                                const CodecContext& context);

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_ERROR_FEEDBACK_H_
