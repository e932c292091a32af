// fp32: the values as they are (lossless). The default value stage of every pipeline.
#ifndef TRIBUTARY_COMPRESS_FP32_CODEC_H_
#define TRIBUTARY_COMPRESS_FP32_CODEC_H_

#include "compress/codec_stage.h"

namespace tributary {

class Fp32Codec : public ValueCodec {
 public:
  std::string spec() const override { return "fp32"; }
  bool lossless() const override { return true; }
  bool unbiased() const override { return true; }
  std::optional<ValueLayout> LayoutOf(size_t) const override {
    return ValueLayout{.value_bytes = sizeof(float)};
  }
  void Encode(std::span<const float> values, const CodecContext& context,
              ByteWriter& out) const override;
  absl::Status Decode(ByteReader& in, const CodecContext& context,
                      std::span<float> out) const override;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_FP32_CODEC_H_
