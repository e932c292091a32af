// PyTorch-compatible persistence of ModelState (declared in model_state.h). This is the one
// tensor-module file that includes libtorch.
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/types.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_util.h"
#include "tensor/model_state.h"

namespace tributary {

absl::Status SaveModelState(const ModelState& state, const std::string& path) {
  try {
    c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
    for (size_t i = 0; i < state.num_tensors(); ++i) {
      std::span<const float> values = state.tensor(i);
      torch::Tensor t = torch::empty(state.specs()[i].shape, torch::kFloat32);
      std::memcpy(t.data_ptr<float>(), values.data(), values.size_bytes());
      dict.insert(state.specs()[i].name, t);
    }
    std::vector<char> bytes = torch::jit::pickle_save(dict);
    return WriteFileAtomically(path, std::string_view(bytes.data(), bytes.size()));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("saving ", path, ": ", e.what_without_backtrace()));
  }
}

absl::StatusOr<ModelState> LoadModelState(const std::string& path) {
  TRIB_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  try {
    c10::IValue value = torch::jit::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
    if (!value.isGenericDict()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": expected a dict of tensors, found ", value.tagKind()));
    }
    std::vector<TensorSpec> specs;
    std::vector<torch::Tensor> tensors;
    for (const auto& entry : value.toGenericDict()) {
      if (!entry.key().isString() || !entry.value().isTensor()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": every entry must map a name to a tensor"));
      }
      torch::Tensor t = entry.value().toTensor();
      if (!t.is_floating_point()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": tensor '", entry.key().toStringRef(), "' is not floating point"));
      }
      specs.push_back({entry.key().toStringRef(), t.sizes().vec()});
      tensors.push_back(t.to(torch::kFloat32).contiguous());
    }
    TRIB_ASSIGN_OR_RETURN(ModelState state, ModelState::Zeros(std::move(specs)));
    for (size_t i = 0; i < tensors.size(); ++i) {
      std::span<float> dst = state.tensor(i);
      std::memcpy(dst.data(), tensors[i].data_ptr<float>(), dst.size_bytes());
    }
    return state;
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a readable model file: ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a readable model file: ", e.what()));
  }
}

}  // namespace tributary
