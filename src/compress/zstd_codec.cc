#include "compress/zstd_codec.h"

#include <zstd.h>

#include "absl/strings/str_cat.h"

namespace tributary {

std::string ZstdCodec::spec() const { return absl::StrCat("zstd:level=", level_); }

std::vector<uint8_t> ZstdCodec::Encode(std::span<const uint8_t> body, size_t) const {
  std::vector<uint8_t> out(ZSTD_compressBound(body.size()));
  const size_t size = ZSTD_compress(out.data(), out.size(), body.data(), body.size(), level_);
  // With a ZSTD_compressBound-sized buffer compression cannot fail for lack of space.
  out.resize(ZSTD_isError(size) ? 0 : size);
  return out;
}

absl::StatusOr<std::vector<uint8_t>> ZstdCodec::Decode(std::span<const uint8_t> body, size_t,
                                                       size_t max_size) const {
  const unsigned long long declared = ZSTD_getFrameContentSize(body.data(), body.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR || declared == ZSTD_CONTENTSIZE_UNKNOWN) {
    return absl::DataLossError("zstd: not a zstd frame with a known size");
  }
  if (declared > max_size) {
    return absl::DataLossError(absl::StrCat("zstd: frame expands to ", declared,
                                            " bytes, more than the ", max_size, " allowed"));
  }
  std::vector<uint8_t> out(declared);
  const size_t size = ZSTD_decompress(out.data(), out.size(), body.data(), body.size());
  if (ZSTD_isError(size) || size != declared) {
    return absl::DataLossError(absl::StrCat(
        "zstd: corrupt frame (", ZSTD_isError(size) ? ZSTD_getErrorName(size) : "short", ")"));
  }
  return out;
}

}  // namespace tributary
