// PowerSGD (Vogels et al. 2019): each weight matrix M (a tensor of rank >= 2 read as
// [dim0, rest]) is sent as a rank-r factorization: P = M Q, P orthonormalized, Q = M^T P, and
// decoded as P Q^T. Q is warm-started from the client's previous round (CodecState), one power
// iteration per round. Tensors of rank 1, or too small for the factors to be smaller, go as
// fp32. Needs the layout (CodecContext) on both sides; use it with error feedback, as the paper
// does. Deviation from the reference code: a column of P that the matrix leaves (numerically)
// empty is replaced by a random unit direction orthogonal to the others, where the reference
// divides by norm + epsilon and so blows rounding noise up into such a column; either way the
// column stays alive and the rank lost in a rank-deficient round grows back.
#ifndef TRIBUTARY_COMPRESS_POWERSGD_CODEC_H_
#define TRIBUTARY_COMPRESS_POWERSGD_CODEC_H_

#include "compress/codec_stage.h"

namespace tributary {

class PowerSgdCodec : public ValueCodec {
 public:
  explicit PowerSgdCodec(int rank) : rank_(rank) {}
  std::string spec() const override;
  bool needs_layout() const override { return true; }
  void Encode(std::span<const float> values, const CodecContext& context,
              ByteWriter& out) const override;
  absl::Status Decode(ByteReader& in, const CodecContext& context,
                      std::span<float> out) const override;

 private:
  // The factorization used for a tensor: rank 0 means sent as fp32.
  struct Shape {
    size_t rows = 0, cols = 0, rank = 0;
  };
  std::vector<Shape> Shapes(std::span<const TensorSpec> layout, size_t total) const;
  int rank_;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_POWERSGD_CODEC_H_
