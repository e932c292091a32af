// The "gpt" model: a decoder-only transformer (GPT-2 layout, pre-LayerNorm) with optional LoRA
// adapters. Internal to model/: pulls in libtorch; everything else reaches it through Network.
#ifndef TRIBUTARY_MODEL_GPT_H_
#define TRIBUTARY_MODEL_GPT_H_

#include <torch/nn/module.h>

#include <memory>

#include "absl/status/statusor.h"
#include "model/model_spec.h"
#include "tensor/model_state.h"

namespace tributary {

// Builds the module. In LoRA mode the base weights are buffers viewing `base` (not copied, so
// every replica shares one copy; `base` must outlive the module) and only the adapters are
// parameters. Requires: ValidateModelSpec(spec) is ok; base non-null iff IsLora(spec).
absl::StatusOr<std::shared_ptr<torch::nn::Module>> CreateGpt(const ModelSpec& spec,
                                                             const ModelState* base);

// Logits [batch, T, vocab] for tokens [batch, T], T <= spec.context.
torch::Tensor GptForward(torch::nn::Module& gpt, const torch::Tensor& tokens);

}  // namespace tributary

#endif  // TRIBUTARY_MODEL_GPT_H_
