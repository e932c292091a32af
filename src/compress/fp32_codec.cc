#include "compress/fp32_codec.h"

#include "common/status_util.h"

namespace tributary {

void Fp32Codec::Encode(std::span<const float> values, const CodecContext& context,
                       ByteWriter& out) const {
  // memcpy from an empty span's null data() is undefined even for 0 bytes.
  if (values.empty()) return;
  std::memcpy(out.Extend(values.size_bytes()), values.data(), values.size_bytes());
}

absl::Status Fp32Codec::Decode(ByteReader& in, const CodecContext& context,
                               std::span<float> out) const {
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, in.GetBytes(out.size_bytes()));
  if (!out.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  return absl::OkStatus();
}

}  // namespace tributary
