// Scaled sign (signSGD with the EF-signSGD scale of Karimireddy et al. 2019): one bit per value
// and one scale, mean |x|, so the decoded vector has the input's L1 norm. Biased: use it with
// error feedback.
#ifndef TRIBUTARY_COMPRESS_SIGN_CODEC_H_
#define TRIBUTARY_COMPRESS_SIGN_CODEC_H_

#include "compress/codec_stage.h"

namespace tributary {

class SignCodec : public ValueCodec {
 public:
  std::string spec() const override { return "sign"; }
  void Encode(std::span<const float> values, const CodecContext& context,
              ByteWriter& out) const override;
  absl::Status Decode(ByteReader& in, const CodecContext& context,
                      std::span<float> out) const override;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_SIGN_CODEC_H_
