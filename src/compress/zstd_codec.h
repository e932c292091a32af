// zstd: lossless compression of the whole payload body, the usual last stage of a pipeline.
#ifndef TRIBUTARY_COMPRESS_ZSTD_CODEC_H_
#define TRIBUTARY_COMPRESS_ZSTD_CODEC_H_

#include "compress/codec_stage.h"

namespace tributary {

class ZstdCodec : public ByteCodec {
 public:
  explicit ZstdCodec(int level) : level_(level) {}
  std::string spec() const override;
  std::vector<uint8_t> Encode(std::span<const uint8_t> body, size_t dimension) const override;
  absl::StatusOr<std::vector<uint8_t>> Decode(std::span<const uint8_t> body, size_t dimension,
                                              size_t max_size) const override;

 private:
  int level_;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_ZSTD_CODEC_H_
