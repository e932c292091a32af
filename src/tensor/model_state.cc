#include "tensor/model_state.h"

#include <xxhash.h>

#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tributary {

int64_t TensorSpec::NumElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

absl::StatusOr<ModelState> ModelState::Zeros(std::vector<TensorSpec> specs) {
  ModelState state;
  std::set<std::string> names;
  size_t total = 0;
  for (const TensorSpec& spec : specs) {
    if (spec.name.empty()) return absl::InvalidArgumentError("tensor with an empty name");
    if (!names.insert(spec.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate tensor name '", spec.name, "'"));
    }
    for (int64_t d : spec.shape) {
      if (d < 0) {
        return absl::InvalidArgumentError(absl::StrCat("tensor '", spec.name,
                                                       "' has a negative dimension [",
                                                       absl::StrJoin(spec.shape, ","), "]"));
      }
    }
    state.offsets_.push_back(total);
    total += static_cast<size_t>(spec.NumElements());
  }
  state.specs_ = std::move(specs);
  state.values_.assign(total, 0.0f);
  return state;
}

std::span<float> ModelState::tensor(size_t index) {
  return std::span<float>(values_).subspan(offsets_.at(index),
                                           static_cast<size_t>(specs_[index].NumElements()));
}

std::span<const float> ModelState::tensor(size_t index) const {
  return std::span<const float>(values_).subspan(offsets_.at(index),
                                                 static_cast<size_t>(specs_[index].NumElements()));
}

absl::StatusOr<size_t> ModelState::IndexOf(const std::string& name) const {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name == name) return i;
  }
  return absl::NotFoundError(absl::StrCat("no tensor named '", name, "'"));
}

ModelState ModelState::ZerosLike() const {
  ModelState state;
  state.specs_ = specs_;
  state.offsets_ = offsets_;
  state.values_.assign(values_.size(), 0.0f);
  return state;
}

uint64_t ModelState::Checksum() const {
  XXH3_state_t* hash = XXH3_createState();
  XXH3_64bits_reset(hash);
  for (const TensorSpec& spec : specs_) {
    XXH3_64bits_update(hash, spec.name.data(), spec.name.size() + 1);  // include the NUL
    const uint64_t rank = spec.shape.size();
    XXH3_64bits_update(hash, &rank, sizeof(rank));
    XXH3_64bits_update(hash, spec.shape.data(), spec.shape.size() * sizeof(int64_t));
  }
  XXH3_64bits_update(hash, values_.data(), values_.size() * sizeof(float));
  const uint64_t digest = XXH3_64bits_digest(hash);
  XXH3_freeState(hash);
  return digest;
}

absl::StatusOr<ModelState> Subtract(const ModelState& a, const ModelState& b) {
  if (!a.SameLayout(b)) return absl::InvalidArgumentError("Subtract: model layouts differ");
  ModelState delta = a.ZerosLike();
  std::span<const float> x = a.flat(), y = b.flat();
  std::span<float> out = delta.flat();
  for (size_t i = 0; i < out.size(); ++i) out[i] = x[i] - y[i];
  return delta;
}

absl::Status AddInPlace(ModelState& a, const ModelState& b) {
  if (!a.SameLayout(b)) return absl::InvalidArgumentError("AddInPlace: model layouts differ");
  std::span<float> x = a.flat();
  std::span<const float> y = b.flat();
  for (size_t i = 0; i < x.size(); ++i) x[i] += y[i];
  return absl::OkStatus();
}

bool AllFinite(std::span<const float> values) {
  bool finite = true;
  for (float v : values) finite &= std::isfinite(v);
  return finite;
}

}  // namespace tributary
