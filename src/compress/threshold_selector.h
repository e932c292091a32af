// Threshold sparsification: every coordinate with |x| >= tau (`threshold:tau=...`). The count
// varies with the input (possibly zero coordinates: an empty update).
#ifndef TRIBUTARY_COMPRESS_THRESHOLD_SELECTOR_H_
#define TRIBUTARY_COMPRESS_THRESHOLD_SELECTOR_H_

#include "compress/codec_stage.h"

namespace tributary {

// `sparse`: the non-zero coordinates (and NaNs), values exact with fp32: a lossless encoding of a
// sparse vector, and the format of downlink catch-ups (Pipeline::EncodeSparse).
class NonZeroSelector : public Selector {
 public:
  std::string spec() const override { return "sparse"; }
  void Select(std::span<const float> x, uint64_t seed, double ratio_scale,
              std::vector<uint32_t>* indices) const override;
};

class ThresholdSelector : public Selector {
 public:
  explicit ThresholdSelector(double tau) : tau_(tau) {}
  std::string spec() const override;
  void Select(std::span<const float> x, uint64_t seed, double ratio_scale,
              std::vector<uint32_t>* indices) const override;

 private:
  double tau_;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_THRESHOLD_SELECTOR_H_
