#include "tensor/model_slice.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace tributary {

absl::StatusOr<ModelSlice> ModelSlice::Create(const std::vector<TensorSpec>& wide,
                                              const std::vector<TensorSpec>& narrow) {
  if (wide.size() != narrow.size()) {
    return absl::InvalidArgumentError("model slice: the models have different tensor counts");
  }
  ModelSlice slice;
  slice.narrow_ = narrow;
  uint64_t wide_offset = 0;
  for (size_t t = 0; t < wide.size(); ++t) {
    const std::vector<int64_t>& ws = wide[t].shape;
    const std::vector<int64_t>& ns = narrow[t].shape;
    if (wide[t].name != narrow[t].name || ws.size() != ns.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("model slice: tensor ", t, " differs (", wide[t].name, ")"));
    }
    for (size_t d = 0; d < ws.size(); ++d) {
      if (ns[d] < 0 || ns[d] > ws[d]) {
        return absl::InvalidArgumentError(
            absl::StrCat("model slice: ", wide[t].name, " is wider in the narrow model"));
      }
    }
    // Walk the narrow tensor's coordinates in row-major order; each maps to the same
    // multi-index in the wide tensor.
    const int64_t count = narrow[t].NumElements();
    std::vector<int64_t> index(ns.size(), 0);
    for (int64_t n = 0; n < count; ++n) {
      uint64_t flat = 0;
      for (size_t d = 0; d < ws.size(); ++d) flat = flat * ws[d] + index[d];
      slice.map_.push_back(static_cast<uint32_t>(wide_offset + flat));
      for (size_t d = ns.size(); d-- > 0;) {
        if (++index[d] < ns[d]) break;
        index[d] = 0;
      }
    }
    wide_offset += static_cast<uint64_t>(wide[t].NumElements());
  }
  if (wide_offset > UINT32_MAX) return absl::InvalidArgumentError("model slice: model too large");
  return slice;
}

void ModelSlice::Extract(std::span<const float> wide, std::span<float> narrow) const {
  for (size_t i = 0; i < map_.size(); ++i) narrow[i] = wide[map_[i]];
}

void ModelSlice::ScatterInto(std::span<const float> narrow, std::span<float> wide) const {
  std::fill(wide.begin(), wide.end(), 0.0f);
  for (size_t i = 0; i < map_.size(); ++i) wide[map_[i]] = narrow[i];
}

}  // namespace tributary
