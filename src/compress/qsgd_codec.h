// QSGD (Alistarh et al. 2017): each value becomes sign * norm * l / s with an integer level
// l in [0, s] chosen by stochastic rounding of |x| / norm * s, so E[decoded] = x (unbiased;
// the rounding draws 16-bit uniforms, so any bias is below 2^-16 of one level).
// `bits` per value include the sign: s = 2^(bits-1) - 1. The norm is sent once per vector:
// `norm=max` (default; lower variance) or `norm=l2` (the paper's choice).
#ifndef TRIBUTARY_COMPRESS_QSGD_CODEC_H_
#define TRIBUTARY_COMPRESS_QSGD_CODEC_H_

#include "compress/codec_stage.h"

namespace tributary {

class QsgdCodec : public ValueCodec {
 public:
  QsgdCodec(int bits, bool l2_norm) : bits_(bits), l2_norm_(l2_norm) {}
  std::string spec() const override;
  bool unbiased() const override { return true; }
  void Encode(std::span<const float> values, const CodecContext& context,
              ByteWriter& out) const override;
  absl::Status Decode(ByteReader& in, const CodecContext& context,
                      std::span<float> out) const override;

 private:
  int bits_;  // 2..8
  bool l2_norm_;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_QSGD_CODEC_H_
