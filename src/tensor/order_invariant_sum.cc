#include "tensor/order_invariant_sum.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/cpu_dispatch.h"

namespace tributary {
namespace {

// Adding and subtracting 1.5 * 2^(52 - F) rounds a double of magnitude below 2^(51 - F) to the
// nearest multiple of 2^-F: the addition pushes its low bits out of the 53-bit mantissa.
// (Must not be compiled with -ffast-math, which would fold the two operations away.)
constexpr double kRoundingShift = 1.5 * 0x1.0p52 / 0x1.0p40;
static_assert(OrderInvariantSum::kFractionBits == 40, "kRoundingShift assumes 40 bits");

// Adds sign * weight * x[i] (grid-rounded) into sum; values that are out of range or not
// finite add zero. Returns false when any value was such. Branch-free so it vectorizes (with
// -fno-trapping-math, set for this file); compiled for AVX2 as well where the CPU has it.
TRIB_CLONE_AVX2 bool AccumulateTerms(const float* x, double weight, double sign, double* sum,
                                     size_t n) {
  const float limit = static_cast<float>(OrderInvariantSum::kMaxValue);
  const double signed_weight = sign * weight;
  size_t invalid = 0;
  for (size_t i = 0; i < n; ++i) {
    // NaN fails the comparison, so it is treated as out of range.
    const bool valid = std::fabs(x[i]) < limit;
    const double term = signed_weight * static_cast<double>(x[i]);
    const double rounded = (term + kRoundingShift) - kRoundingShift;
    sum[i] += valid ? rounded : 0.0;
    invalid += !valid;
  }
  return invalid == 0;
}

}  // namespace

double RoundToSumGrid(double value) { return (value + kRoundingShift) - kRoundingShift; }

OrderInvariantSum::OrderInvariantSum(size_t dimension) : sum_(dimension, 0.0) {}

absl::Status OrderInvariantSum::Add(std::span<const float> x, double weight) {
  if (x.size() != sum_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("update has ", x.size(), " values, expected ", sum_.size()));
  }
  if (!(weight >= 0.0 && weight <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid aggregation weight ", weight));
  }
  const double rounded_weight = RoundToSumGrid(weight);
  if (total_weight_ + rounded_weight > kMaxTotalWeight) {
    return absl::InvalidArgumentError(absl::StrCat("total aggregation weight would exceed ",
                                                   kMaxTotalWeight, "; normalize the weights"));
  }
  if (!AccumulateTerms(x.data(), weight, 1.0, sum_.data(), sum_.size())) {
    // Undo exactly: the same terms were added, and grid arithmetic is exact.
    AccumulateTerms(x.data(), weight, -1.0, sum_.data(), sum_.size());
    return absl::InvalidArgumentError(absl::StrCat(
        "update rejected: a value is not finite or its magnitude is not below ", kMaxValue));
  }
  total_weight_ += rounded_weight;
  return absl::OkStatus();
}

void OrderInvariantSum::Reset() {
  std::fill(sum_.begin(), sum_.end(), 0.0);
  total_weight_ = 0.0;
}

}  // namespace tributary
