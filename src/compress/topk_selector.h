// Top-k: the k coordinates of largest magnitude (ties broken toward lower indices), exactly.
// k = max(1, round(ratio * dimension)), or `k` given directly.
//
// Selection is a radix select on the bit patterns of |x| (for non-negative floats the bit
// pattern orders like the value): one histogram pass over the top 16 bits finds the bucket that
// holds the k-th largest magnitude, and only that bucket's members are ranked further. O(d) and
// no sort of the whole vector.
#ifndef TRIBUTARY_COMPRESS_TOPK_SELECTOR_H_
#define TRIBUTARY_COMPRESS_TOPK_SELECTOR_H_

#include "compress/codec_stage.h"

namespace tributary {

class TopKSelector : public Selector {
 public:
  // Exactly one of ratio (in (0, 1]) and k (>= 1) is positive.
  TopKSelector(double ratio, int64_t k) : ratio_(ratio), k_(k) {}
  std::string spec() const override;
  void Select(std::span<const float> x, uint64_t seed, double ratio_scale,
              std::vector<uint32_t>* indices) const override;
  // k for a vector of `dimension` values, times `ratio_scale` (clamped to [1, dimension]).
  size_t CountFor(size_t dimension, double ratio_scale = 1.0) const;

 private:
  double ratio_;
  int64_t k_;
};

// The indices of the k largest |x| in increasing order. Exposed for benchmarks and tests.
void TopKIndices(std::span<const float> x, size_t k, std::vector<uint32_t>* indices);

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_TOPK_SELECTOR_H_
