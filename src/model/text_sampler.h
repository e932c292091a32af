// Text generation with a "gpt" model: autoregressive sampling with temperature and top-k.
// Torch-free header.
#ifndef TRIBUTARY_MODEL_TEXT_SAMPLER_H_
#define TRIBUTARY_MODEL_TEXT_SAMPLER_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "model/model_spec.h"
#include "tensor/model_state.h"

namespace tributary {

struct SamplingOptions {
  int max_new_tokens = 100;
  double temperature = 0.8;  // 0: always the most likely token
  int top_k = 40;            // sample among the k most likely tokens; 0: all
  uint64_t seed = 0;
};

// The prompt's continuation (new tokens only). The model sees at most spec.context tokens, the
// latest ones. Requires: state has the layout of `spec`'s model.
absl::StatusOr<std::vector<int32_t>> SampleTokens(const ModelSpec& spec, const ModelState& state,
                                                  std::span<const int32_t> prompt,
                                                  const SamplingOptions& options);

}  // namespace tributary

#endif  // TRIBUTARY_MODEL_TEXT_SAMPLER_H_
