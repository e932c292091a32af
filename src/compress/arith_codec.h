// arith: a byte stage that codes the body's fields (pipeline.h's wire format) with adaptive
// binary arithmetic coding instead of compressing its bytes (zstd): the count and the index
// gaps as integers (an Elias-gamma-like code whose widths and leading bits are learnt), the
// value stage's codes through a model of their distribution (QSGD's levels, grid's integers),
// raw bytes (norms, fp32/fp16 values) byte by byte, by their position in the value. The models
// start from even odds and learn as they code, so no table travels; on the sparse payloads of
// docs/compression.md this sends 20% fewer bytes than zstd (a top-k 0.2% + 4-bit QSGD upload)
// and 13% fewer (a grid catch-up).
//
// Takes the value stages that declare their layout (qsgd, grid, fp32, fp16, bf16) and no
// `pertensor`. A body that does not fit its shape (never one this pipeline wrote) is sent
// byte by byte behind an escape bit, so encoding cannot fail.
#ifndef TRIBUTARY_COMPRESS_ARITH_CODEC_H_
#define TRIBUTARY_COMPRESS_ARITH_CODEC_H_

#include "compress/codec_stage.h"

namespace tributary {

class ArithCodec : public ByteCodec {
 public:
  std::string spec() const override { return "arith"; }
  absl::Status Bind(const BodyShape& shape) override;
  std::vector<uint8_t> Encode(std::span<const uint8_t> body, size_t dimension) const override;
  absl::StatusOr<std::vector<uint8_t>> Decode(std::span<const uint8_t> body, size_t dimension,
                                              size_t max_size) const override;

 private:
  BodyShape shape_;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_ARITH_CODEC_H_
