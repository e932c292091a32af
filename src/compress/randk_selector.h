// Random-k: k coordinates drawn uniformly without replacement from a seed that travels in the
// payload header, so only the values are sent; the values are scaled by d / k, which makes the
// sparse update an unbiased estimate of the input.
#ifndef TRIBUTARY_COMPRESS_RANDK_SELECTOR_H_
#define TRIBUTARY_COMPRESS_RANDK_SELECTOR_H_

#include "compress/codec_stage.h"

namespace tributary {

class RandKSelector : public Selector {
 public:
  explicit RandKSelector(double ratio) : ratio_(ratio) {}
  std::string spec() const override;
  void Select(std::span<const float> x, uint64_t seed, double ratio_scale,
              std::vector<uint32_t>* indices) const override;
  bool indices_from_seed() const override { return true; }
  std::vector<uint32_t> Regenerate(size_t dimension, uint64_t seed) const override;
  double value_scale(size_t dimension, size_t selected) const override;
  bool unbiased() const override { return true; }

 private:
  double ratio_;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_RANDK_SELECTOR_H_
