#include "model/text_sampler.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "model/network.h"

namespace tributary {

absl::StatusOr<std::vector<int32_t>> SampleTokens(const ModelSpec& spec, const ModelState& state,
                                                  std::span<const int32_t> prompt,
                                                  const SamplingOptions& options) {
  if (spec.name != "gpt") return absl::InvalidArgumentError("text generation needs a gpt model");
  if (prompt.empty()) return absl::InvalidArgumentError("the prompt has no tokens");
  if (options.max_new_tokens < 0 || !(options.temperature >= 0.0) || options.top_k < 0) {
    return absl::InvalidArgumentError("sampling options must be non-negative");
  }
  for (int32_t id : prompt) {
    if (id < 0 || id >= spec.num_classes) {
      return absl::OutOfRangeError(absl::StrCat("prompt token ", id, " outside the vocabulary"));
    }
  }
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Network> network, Network::Create(spec));
  if (state.specs() != network->layout()) {
    return absl::InvalidArgumentError("model file does not match the configured model");
  }
  network->LoadState(state);
  network->SetTraining(false);
  std::vector<int64_t> tokens(prompt.begin(), prompt.end());
  std::vector<int32_t> generated;
  Rng rng(DeriveSeed(options.seed, 0, 0, RngPurpose::kTextSampling));
  try {
    torch::NoGradGuard no_grad;
    for (int n = 0; n < options.max_new_tokens; ++n) {
      const int64_t start =
          std::max<int64_t>(0, static_cast<int64_t>(tokens.size()) - spec.context);
      const int64_t length = static_cast<int64_t>(tokens.size()) - start;
      torch::Tensor input = torch::from_blob(tokens.data() + start, {1, length}, torch::kInt64);
      torch::Tensor logits = network->Forward(input)[0][length - 1].to(torch::kFloat64);
      int64_t next;
      if (options.temperature == 0.0) {
        next = logits.argmax().item<int64_t>();
      } else {
        logits = logits / options.temperature;
        if (options.top_k > 0 && options.top_k < logits.size(0)) {
          const double kth = std::get<0>(logits.topk(options.top_k))[-1].item<double>();
          logits = logits.masked_fill(logits < kth, -std::numeric_limits<double>::infinity());
        }
        torch::Tensor cumulative = torch::softmax(logits, 0).cumsum(0);
        const double u = UniformUnit(rng);
        next = std::min<int64_t>((cumulative < u).sum().item<int64_t>(), logits.size(0) - 1);
      }
      tokens.push_back(next);
      generated.push_back(static_cast<int32_t>(next));
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("sampling: ", e.what_without_backtrace()));
  }
  return generated;
}

}  // namespace tributary
