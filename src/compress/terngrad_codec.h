// TernGrad (Wen et al. 2017): with s = max |x|, each value becomes s * sign(x) with probability
// |x| / s and 0 otherwise: unbiased, 2 bits per value plus the scale.
#ifndef TRIBUTARY_COMPRESS_TERNGRAD_CODEC_H_
#define TRIBUTARY_COMPRESS_TERNGRAD_CODEC_H_

#include "compress/codec_stage.h"

namespace tributary {

class TernGradCodec : public ValueCodec {
 public:
  std::string spec() const override { return "terngrad"; }
  bool unbiased() const override { return true; }
  void Encode(std::span<const float> values, const CodecContext& context,
              ByteWriter& out) const override;
  absl::Status Decode(ByteReader& in, const CodecContext& context,
                      std::span<float> out) const override;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_TERNGRAD_CODEC_H_
