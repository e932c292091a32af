// OrderInvariantSum: a streaming weighted sum of fp32 vectors whose result is bitwise the same
// whatever order the terms arrive in, in O(dimension) memory.
//
// Why: clients finish in any order, and a plain floating-point sum depends on that order, so
// two runs with the same seed would drift apart. Here every term weight * x[i] is first rounded
// (to nearest) to a fixed grid of spacing 2^-kFractionBits. Sums of grid values are exact in
// double precision while their magnitude stays below 2^(53 - kFractionBits), and exact addition
// is associative and commutative. The rounding of one term does not depend on any other term,
// so the final sum is a function of the multiset of terms alone.
//
// Range: every |x[i]| must be below kMaxValue, every weight at most 1 and the weights' total at
// most kMaxTotalWeight; then every term is below 2^10 and every partial sum below 2^12, inside
// the exact range 2^13. Add() rejects an update that breaks this (or holds a non-finite value)
// and leaves the sum untouched. Callers normalize weights (e.g. examples / expected examples).
//
// Resolution: 2^-40 ≈ 9.1e-13 absolute per term, far below fp32 resolution of model values.
//
// Thread-safety: not thread-safe; callers serialize Add().
#ifndef TRIBUTARY_TENSOR_ORDER_INVARIANT_SUM_H_
#define TRIBUTARY_TENSOR_ORDER_INVARIANT_SUM_H_

#include <cstddef>
#include <span>
#include <vector>

#include "absl/status/status.h"

namespace tributary {

class OrderInvariantSum {
 public:
  static constexpr int kFractionBits = 40;
  static constexpr double kMaxValue = 1024.0;  // 2^10
  static constexpr double kMaxTotalWeight = 4.0;

  explicit OrderInvariantSum(size_t dimension);

  // sum += weight * x. Rejects (with InvalidArgument, sum unchanged) a size mismatch, a
  // non-finite or out-of-range value, a weight outside [0, 1], or total weight overflow.
  absl::Status Add(std::span<const float> x, double weight);

  size_t dimension() const { return sum_.size(); }
  // Exact sum of the (grid-rounded) weights accepted so far.
  double total_weight() const { return total_weight_; }
  std::span<const double> sum() const { return sum_; }
  void Reset();

 private:
  std::vector<double> sum_;
  double total_weight_ = 0.0;
};

// Rounds `value` to the nearest multiple of 2^-OrderInvariantSum::kFractionBits.
// Requires |value| < 2^(51 - kFractionBits).
double RoundToSumGrid(double value);

}  // namespace tributary

#endif  // TRIBUTARY_TENSOR_ORDER_INVARIANT_SUM_H_
