#include "compress/threshold_selector.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace tributary {

void NonZeroSelector::Select(std::span<const float> x, uint64_t, double,
                             std::vector<uint32_t>* indices) const {
  indices->clear();
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] != 0.0f) indices->push_back(static_cast<uint32_t>(i));  // NaN != 0: kept
  }
}

std::string ThresholdSelector::spec() const { return absl::StrCat("threshold:tau=", tau_); }

void ThresholdSelector::Select(std::span<const float> x, uint64_t, double,
                               std::vector<uint32_t>* indices) const {
  indices->clear();
  const float tau = static_cast<float>(tau_);
  for (size_t i = 0; i < x.size(); ++i) {
    // !(|x| < tau) also selects NaN, so the server sees and rejects it.
    if (!(std::fabs(x[i]) < tau)) indices->push_back(static_cast<uint32_t>(i));
  }
}

}  // namespace tributary
