// QSGD (Alistarh et al. 2017): the values are cut into buckets of `bucket` consecutive values
// (0: one bucket for the whole vector); each value becomes sign * norm * l / s, where norm is its
// bucket's norm and the integer level l in [0, s] is chosen by stochastic rounding of
// |x| / norm * s, so E[decoded] = x (unbiased; the rounding draws 16-bit uniforms, so any bias
// is below 2^-16 of one level).
//
// Defaults are the paper's: `norm=l2`, `bucket=512`. `bits` counts the bits per value on the
// wire including the sign, so s = 2^(bits-1) - 1 levels (bits=4: a sign and 7 levels; the
// paper's "b-bit" counts are of the same kind but its encodings are Elias codes, not fixed
// width). `norm=max,bucket=0` is the variant Tributary shipped first: one max-norm scale per
// vector, far lower variance than the paper's l2 norm on a long flat vector.
//
// Wire: one float norm per bucket, then ceil(n * bits / 8) bytes of codes.
#ifndef TRIBUTARY_COMPRESS_QSGD_CODEC_H_
#define TRIBUTARY_COMPRESS_QSGD_CODEC_H_

#include "compress/codec_stage.h"

namespace tributary {

class QsgdCodec : public ValueCodec {
 public:
  // Requires: bits in [2, 8]; bucket 0 or a multiple of 8 (codes of a bucket start on a byte).
  QsgdCodec(int bits, bool l2_norm, size_t bucket)
      : bits_(bits), l2_norm_(l2_norm), bucket_(bucket) {}
  std::string spec() const override;
  bool unbiased() const override { return true; }
  std::optional<ValueLayout> LayoutOf(size_t n) const override {
    const size_t bucket = BucketSize(n);
    return ValueLayout{.prefix_bytes = (n + bucket - 1) / bucket * sizeof(float),
                       .symbol_bits = bits_};
  }
  void Encode(std::span<const float> values, const CodecContext& context,
              ByteWriter& out) const override;
  absl::Status Decode(ByteReader& in, const CodecContext& context,
                      std::span<float> out) const override;

 private:
  size_t BucketSize(size_t n) const { return bucket_ == 0 ? std::max<size_t>(n, 1) : bucket_; }

  int bits_;  // 2..8
  bool l2_norm_;
  size_t bucket_;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_QSGD_CODEC_H_
