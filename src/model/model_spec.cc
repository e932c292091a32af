// The model specs' validation, apart from the models (network.cc, gpt.cc, torchscript_network.cc)
// so that what checks a config needs no libtorch.
#include "model/model_spec.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tributary {
namespace {

absl::Status ValidateGptSpec(const ModelSpec& spec) {
  if (spec.layers < 1 || spec.layers > 256 || spec.heads < 1 || spec.embed < 1 ||
      spec.embed > 65536 || spec.embed % spec.heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "gpt needs 1..256 layers and an embedding width divisible by the head count; got layers ",
        spec.layers, ", heads ", spec.heads, ", embed ", spec.embed));
  }
  if (spec.context < 1 || spec.context > 65536) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.context must be in [1, 65536], got ", spec.context));
  }
  if (spec.width != 1.0) return absl::InvalidArgumentError("gpt has no narrower widths");
  if (spec.lora_rank < 0 || spec.lora_rank > spec.embed) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.lora_rank must be in [0, embed], got ", spec.lora_rank));
  }
  if (spec.lora_rank > 0 && spec.base.empty()) {
    return absl::InvalidArgumentError(
        "model.lora_rank needs model.base: the checkpoint whose weights stay frozen");
  }
  if (!(spec.lora_alpha > 0.0 && std::isfinite(spec.lora_alpha))) {
    return absl::InvalidArgumentError("model.lora_alpha must be positive");
  }
  return absl::OkStatus();
}

}  // namespace

int64_t ConvPoolSize(int64_t size) { return (size - 4) / 2; }

absl::Status ValidateTorchScriptSpec(const ModelSpec& spec) {
  if (spec.path.empty()) {
    return absl::InvalidArgumentError(
        "model.name = torchscript needs model.path: a module saved with "
        "torch.jit.script(module).save(path)");
  }
  if (spec.width != 1.0) {
    return absl::InvalidArgumentError("torchscript models have no narrower widths (HeteroFL)");
  }
  if (spec.lora_rank != 0) {
    return absl::InvalidArgumentError("LoRA is built into model.name = gpt only, not torchscript");
  }
  if (spec.buffers != "aggregate" && spec.buffers != "local") {
    return absl::InvalidArgumentError(
        absl::StrCat("model.buffers must be aggregate or local, got '", spec.buffers, "'"));
  }
  return absl::OkStatus();
}

const std::vector<std::string>& RegisteredModels() {
  static const std::vector<std::string> names = {"mlp", "cnn", "gpt", "torchscript"};
  return names;
}

absl::Status ValidateModelSpec(const ModelSpec& spec) {
  const auto& names = RegisteredModels();
  if (std::find(names.begin(), names.end(), spec.name) == names.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown model '", spec.name, "' (registered: ", absl::StrJoin(names, ", "), ")"));
  }
  if (spec.hidden < 1 || spec.hidden > (1 << 16)) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.hidden must be in [1, 65536], got ", spec.hidden));
  }
  if (!(spec.width > 0.0 && spec.width <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("model width must be in (0, 1], got ", spec.width));
  }
  if (spec.input_channels < 1 || spec.input_height < 1 || spec.input_width < 1 ||
      spec.num_classes < 2) {
    return absl::InvalidArgumentError("model input shape and class count must be positive");
  }
  if (spec.seed_pool < 0 || spec.seed_pool > (1 << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.seed_pool must be in [0, 1048576], got ", spec.seed_pool));
  }
  if (IsSeedSubspace(spec)) {
    if (spec.base.empty()) {
      return absl::InvalidArgumentError(
          "model.seed_pool needs model.base: the checkpoint the seeded directions start from");
    }
    if (spec.name == "torchscript" || spec.lora_rank != 0 || !spec.init.empty()) {
      return absl::InvalidArgumentError(
          "model.seed_pool works over a built-in model's full weights: not with torchscript, "
          "LoRA (model.lora_rank) or model.init (the coefficients start at zero, the weights at "
          "model.base)");
    }
  }
  if (spec.name == "gpt") return ValidateGptSpec(spec);
  if (spec.name == "torchscript") return ValidateTorchScriptSpec(spec);
  if (spec.lora_rank != 0) return absl::InvalidArgumentError("LoRA needs model.name = gpt");
  if (spec.name == "cnn" && (ConvPoolSize(ConvPoolSize(spec.input_height)) < 1 ||
                             ConvPoolSize(ConvPoolSize(spec.input_width)) < 1)) {
    return absl::InvalidArgumentError("cnn needs inputs of at least 16x16 pixels");
  }
  return absl::OkStatus();
}

}  // namespace tributary
