#include "engine/local_layers.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tributary {

absl::StatusOr<LocalLayers> LocalLayers::Create(const std::vector<TensorSpec>& layout,
                                                const std::string& prefixes) {
  std::vector<std::string> wanted;
  for (absl::string_view p : absl::StrSplit(prefixes, ',', absl::SkipWhitespace())) {
    wanted.emplace_back(absl::StripAsciiWhitespace(p));
  }
  LocalLayers layers;
  std::vector<bool> used(wanted.size(), false);
  size_t offset = 0;
  for (const TensorSpec& spec : layout) {
    const size_t size = static_cast<size_t>(spec.NumElements());
    bool local = false;
    for (size_t w = 0; w < wanted.size(); ++w) {
      if (spec.name.rfind(wanted[w], 0) == 0) local = used[w] = true;
    }
    layers.ranges_.push_back({offset, size, local});
    if (local) {
      layers.local_size_ += size;
    } else {
      layers.shared_layout_.push_back(spec);
      layers.shared_size_ += size;
    }
    offset += size;
  }
  for (size_t w = 0; w < wanted.size(); ++w) {
    if (!used[w]) {
      std::string names;
      for (const TensorSpec& spec : layout) names += " " + spec.name;
      return absl::InvalidArgumentError(absl::StrCat("strategy.local_layers: '", wanted[w],
                                                     "' names no tensor (tensors:", names, ")"));
    }
  }
  if (layers.shared_size_ == 0) {
    return absl::InvalidArgumentError(
        "strategy.local_layers: nothing of the model would be shared");
  }
  return layers;
}

void LocalLayers::GatherShared(std::span<const float> full, std::vector<float>* shared) const {
  shared->clear();
  for (const Range& r : ranges_) {
    if (!r.local)
      shared->insert(shared->end(), full.begin() + r.offset, full.begin() + r.offset + r.size);
  }
}

void LocalLayers::ScatterShared(std::span<const float> shared, std::span<float> full) const {
  size_t at = 0;
  for (const Range& r : ranges_) {
    if (r.local) {
      std::fill_n(full.begin() + r.offset, r.size, 0.0f);
    } else {
      std::copy_n(shared.begin() + at, r.size, full.begin() + r.offset);
      at += r.size;
    }
  }
}

void LocalLayers::GatherLocal(std::span<const float> full, std::vector<float>* local) const {
  local->clear();
  for (const Range& r : ranges_) {
    if (r.local)
      local->insert(local->end(), full.begin() + r.offset, full.begin() + r.offset + r.size);
  }
}

void LocalLayers::ScatterLocal(std::span<const float> local, std::span<float> full) const {
  size_t at = 0;
  for (const Range& r : ranges_) {
    if (!r.local) continue;
    std::copy_n(local.begin() + at, r.size, full.begin() + r.offset);
    at += r.size;
  }
}

}  // namespace tributary
