#include "compress/sign_codec.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "common/status_util.h"
#include "compress/bit_packing.h"

namespace tributary {

void SignCodec::Encode(std::span<const float> values, const CodecContext& context,
                       ByteWriter& out) const {
  double l1 = 0.0;
  for (float v : values) l1 += std::fabs(v);
  out.Put<float>(values.empty() ? 0.0f : static_cast<float>(l1 / values.size()));
  const size_t n = values.size();
  uint8_t* packed = out.Extend(PackedBytes(n, 1));
  uint8_t codes[kCodeBlock];
  for (size_t start = 0; start < n; start += kCodeBlock) {
    const size_t count = std::min(kCodeBlock, n - start);
    for (size_t i = 0; i < count; ++i) {
      codes[i] = static_cast<uint8_t>(std::bit_cast<uint32_t>(values[start + i]) >> 31);
    }
    PackCodes(codes, count, 1, packed + start / 8);
  }
}

absl::Status SignCodec::Decode(ByteReader& in, const CodecContext& context,
                               std::span<float> out) const {
  TRIB_ASSIGN_OR_RETURN(float scale, in.GetScale("sign"));
  const size_t n = out.size();
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> bits, in.GetBytes(PackedBytes(n, 1)));
  const float value_of[2] = {scale, -scale};
  uint8_t codes[kCodeBlock];
  for (size_t start = 0; start < n; start += kCodeBlock) {
    const size_t count = std::min(kCodeBlock, n - start);
    UnpackCodes(bits.data() + start / 8, count, 1, codes);
    for (size_t i = 0; i < count; ++i) out[start + i] = value_of[codes[i]];
  }
  return absl::OkStatus();
}

}  // namespace tributary
