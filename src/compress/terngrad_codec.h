// TernGrad (Wen et al. 2017): each value x of a tensor becomes s * sign(x) with probability
// |x| / s and 0 otherwise, s = the tensor's max |x|: 2 bits per value plus one scale per tensor.
//
// Defaults are the paper's variance controls:
//   clip=2.5      values are first clipped to [-c sigma, c sigma], sigma the standard deviation
//                 of the tensor's values about their mean (the paper's gradient clipping; this
//                 makes the codec biased, as in the paper). clip=0: no clipping (unbiased).
//   scale=tensor  one scale per tensor of the model's layout (the paper's per-layer scalar) when
//                 the stage sees the whole model, i.e. no selector before it; otherwise, and with
//                 scale=vector, one scale for all the values (Tributary's first variant).
//
// Wire: one float scale per tensor (or one), then ceil(n / 4) bytes of 2-bit codes.
#ifndef TRIBUTARY_COMPRESS_TERNGRAD_CODEC_H_
#define TRIBUTARY_COMPRESS_TERNGRAD_CODEC_H_

#include <utility>
#include <vector>

#include "compress/codec_stage.h"

namespace tributary {

class TernGradCodec : public ValueCodec {
 public:
  TernGradCodec(double clip, bool per_tensor) : clip_(clip), per_tensor_(per_tensor) {}
  std::string spec() const override;
  bool unbiased() const override { return clip_ == 0.0; }
  void Encode(std::span<const float> values, const CodecContext& context,
              ByteWriter& out) const override;
  absl::Status Decode(ByteReader& in, const CodecContext& context,
                      std::span<float> out) const override;

 private:
  // [begin, end) of each part that gets its own scale.
  std::vector<std::pair<size_t, size_t>> Parts(size_t n, const CodecContext& context) const;

  double clip_;
  bool per_tensor_;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_TERNGRAD_CODEC_H_
