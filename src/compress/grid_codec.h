// Fixed-grid values: each value becomes the nearest integer multiple of step = 2^-exp, sent as a
// zigzag varint of the integer. Deterministic and biased (use it with error feedback, or on the
// downlink, whose G - H is the server's error feedback).
//
// Why a fixed power-of-two grid: a model whose values are all multiples of 2^-exp below
// 2^(24 - exp) in magnitude stays on the grid under the decoded values' float additions, and
// each addition is exact. Increments applied one after another then equal their sum applied
// once, in any order: a client away for many rounds can be sent one merged difference over the
// coordinates that changed instead of every increment it missed (engine/downlink.h).
//
// Integers are clamped below 2^24 in magnitude, so every decoded value is exact in float.
#ifndef TRIBUTARY_COMPRESS_GRID_CODEC_H_
#define TRIBUTARY_COMPRESS_GRID_CODEC_H_

#include "compress/codec_stage.h"

namespace tributary {

class GridCodec : public ValueCodec {
 public:
  // The largest integer sent (in magnitude): below 2^24, where float still counts by ones.
  static constexpr int64_t kMaxSteps = (int64_t{1} << 24) - 1;

  // Requires: exp in [0, 40].
  explicit GridCodec(int exp) : exp_(exp) {}
  std::string spec() const override;
  std::optional<ValueLayout> LayoutOf(size_t) const override {
    return ValueLayout{.varints = true};
  }
  int exp() const { return exp_; }
  void Encode(std::span<const float> values, const CodecContext& context,
              ByteWriter& out) const override;
  absl::Status Decode(ByteReader& in, const CodecContext& context,
                      std::span<float> out) const override;

 private:
  int exp_;
};

// `value` snapped to the nearest multiple of 2^-exp (integer clamped as GridCodec does); a value
// that is not finite is returned as it is.
float SnapToGrid(float value, int exp);

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_GRID_CODEC_H_
