// 16-bit floats: fp16 (IEEE half: 5-bit exponent, 10-bit mantissa; magnitudes above 65504 are
// saturated) and bf16 (8-bit exponent, 7-bit mantissa: fp32's range at lower precision). Both
// round to nearest even.
#ifndef TRIBUTARY_COMPRESS_HALF_CODECS_H_
#define TRIBUTARY_COMPRESS_HALF_CODECS_H_

#include "compress/codec_stage.h"

namespace tributary {

uint16_t FloatToHalf(float value);
float HalfToFloat(uint16_t half);
uint16_t FloatToBfloat16(float value);
float Bfloat16ToFloat(uint16_t bf16);

class Fp16Codec : public ValueCodec {
 public:
  std::string spec() const override { return "fp16"; }
  void Encode(std::span<const float> values, const CodecContext& context,
              ByteWriter& out) const override;
  absl::Status Decode(ByteReader& in, const CodecContext& context,
                      std::span<float> out) const override;
};

class Bf16Codec : public ValueCodec {
 public:
  std::string spec() const override { return "bf16"; }
  void Encode(std::span<const float> values, const CodecContext& context,
              ByteWriter& out) const override;
  absl::Status Decode(ByteReader& in, const CodecContext& context,
                      std::span<float> out) const override;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_HALF_CODECS_H_
