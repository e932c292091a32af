#include "model/torchscript_network.h"

#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace tributary {
namespace {

absl::Status CheckStateTensor(const ModelSpec& spec, const std::string& kind,
                              const std::string& name, const torch::Tensor& tensor) {
  if (!tensor.is_contiguous() || tensor.device() != torch::kCPU) {
    return absl::InvalidArgumentError(absl::StrCat("model.path ", spec.path, ": ", kind, " '", name,
                                                   "' is not a contiguous CPU tensor"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Network>> LoadTorchScriptNetwork(const ModelSpec& spec) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(spec.path, error)) {
    return absl::InvalidArgumentError(absl::StrCat("model.path ", spec.path, " is not a file"));
  }
  // The profiling executor's specialized, differentiable graphs trained the Fashion-MNIST CNN
  // 7 to 12% slower than the built-in model; without profiling the module runs op by op under
  // eager autograd, within 1% of it (bench/torchscript_bench). Process-wide, JIT only.
  static std::once_flag executor_mode;
  std::call_once(executor_mode, [] { torch::jit::getProfilingMode() = false; });
  auto module = std::make_shared<torch::jit::Module>();
  try {
    *module = torch::jit::load(spec.path, torch::kCPU);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.path ", spec.path,
                     " is not a TorchScript module (save one with torch.jit.script(m).save): ",
                     TorchErrorText(e)));
  }
  if (!module->find_method("forward").has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.path ", spec.path, ": the module has no forward method"));
  }
  Network::Parts parts;
  for (const auto& item : module->named_parameters(/*recurse=*/true)) {
    if (!item.value.requires_grad()) continue;  // frozen: stays as saved
    if (item.value.scalar_type() != torch::kFloat32) {
      return absl::InvalidArgumentError(
          absl::StrCat("model.path ", spec.path, ": parameter '", item.name, "' is ",
                       c10::toString(item.value.scalar_type()),
                       "; save the module in float32 (module.float())"));
    }
    TRIB_RETURN_IF_ERROR(CheckStateTensor(spec, "parameter", item.name, item.value));
    parts.parameters.emplace_back(item.name, item.value);
  }
  if (parts.parameters.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.path ", spec.path, ": the module has no trainable parameters"));
  }
  // Other buffers go back to their saved values after every load.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> restored;
  for (const auto& item : module->named_buffers(/*recurse=*/true)) {
    if (item.value.scalar_type() == torch::kFloat32) {
      TRIB_RETURN_IF_ERROR(CheckStateTensor(spec, "buffer", item.name, item.value));
      parts.buffers.emplace_back(item.name, item.value);
    } else {
      restored.emplace_back(item.value, item.value.clone());
    }
  }
  if (!restored.empty()) {
    parts.after_load = [restored = std::move(restored)] {
      for (const auto& [live, saved] : restored) live.copy_(saved);
    };
  }
  torch::jit::Module* raw = module.get();
  parts.forward = [raw](const torch::Tensor& x) { return raw->forward({x}).toTensor(); };
  parts.set_training = [raw](bool training) { raw->train(training); };
  if (auto loss = module->find_method("loss"); loss.has_value()) {
    parts.loss = [method = *loss](const torch::Tensor& x, const torch::Tensor& y) mutable {
      return method({x, y}).toTensor();
    };
  }
  parts.owner = std::move(module);
  return Network::FromParts(std::move(parts));
}

}  // namespace tributary
