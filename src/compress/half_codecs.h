// 16-bit floats: fp16 (IEEE half: 5-bit exponent, 10-bit mantissa; finite magnitudes above
// 65504 are saturated, infinities and NaN kept so that the server rejects them) and bf16 (8-bit
// exponent, 7-bit mantissa: fp32's range at lower precision). Both round to nearest even. On
// x86-64 CPUs with F16C, fp16 converts 8 values per instruction, with the same results.
#ifndef TRIBUTARY_COMPRESS_HALF_CODECS_H_
#define TRIBUTARY_COMPRESS_HALF_CODECS_H_

#include "compress/codec_stage.h"

namespace tributary {

uint16_t FloatToHalf(float value);
float HalfToFloat(uint16_t half);
// Whole arrays to and from little-endian bytes (2 per value, any alignment), through F16C where
// the CPU has it.
void FloatsToHalves(std::span<const float> in, uint8_t* out);
void HalvesToFloats(const uint8_t* in, std::span<float> out);
uint16_t FloatToBfloat16(float value);
float Bfloat16ToFloat(uint16_t bf16);

class Fp16Codec : public ValueCodec {
 public:
  std::string spec() const override { return "fp16"; }
  std::optional<ValueLayout> LayoutOf(size_t) const override {
    return ValueLayout{.value_bytes = 2};
  }
  void Encode(std::span<const float> values, const CodecContext& context,
              ByteWriter& out) const override;
  absl::Status Decode(ByteReader& in, const CodecContext& context,
                      std::span<float> out) const override;
};

class Bf16Codec : public ValueCodec {
 public:
  std::string spec() const override { return "bf16"; }
  std::optional<ValueLayout> LayoutOf(size_t) const override {
    return ValueLayout{.value_bytes = 2};
  }
  void Encode(std::span<const float> values, const CodecContext& context,
              ByteWriter& out) const override;
  absl::Status Decode(ByteReader& in, const CodecContext& context,
                      std::span<float> out) const override;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_HALF_CODECS_H_
