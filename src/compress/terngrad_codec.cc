#include "compress/terngrad_codec.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/status_util.h"
#include "compress/bit_packing.h"
#include "compress/fast_rng.h"
#include "compress/value_range.h"

// 2-bit codes: 0 is zero, 1 is +scale, 2 is -scale; 3 is invalid.
namespace tributary {

void TernGradCodec::Encode(std::span<const float> values, const CodecContext& context,
                           ByteWriter& out) const {
  const ValueRange range = ScanValues(values);
  const float scale = range.max_abs;
  const bool finite = range.finite;
  // A non-finite input is sent as a NaN scale, which the decoder rejects: never hidden.
  out.Put<float>(finite ? scale : std::numeric_limits<float>::quiet_NaN());
  const size_t n = values.size();
  uint8_t* packed = out.Extend(PackedBytes(n, 2));
  if (!finite) {
    std::memset(packed, 0, PackedBytes(n, 2));
    return;
  }
  // Keep probability |v| / scale on a 2^-16 grid.
  const float to_fixed = scale > 0.0f ? 65536.0f / scale : 0.0f;
  FastRng rng(context.seed);
  uint16_t uniforms[kCodeBlock];
  uint8_t codes[kCodeBlock];
  for (size_t start = 0; start < n; start += kCodeBlock) {
    const size_t count = std::min(kCodeBlock, n - start);
    rng.FillUniform16(uniforms, count);
    const float* x = values.data() + start;
    for (size_t i = 0; i < count; ++i) {
      // Through int32 (at most 2^16): SSE has no float -> uint32 conversion.
      const uint32_t threshold = static_cast<uint32_t>(
          static_cast<int32_t>(std::min(std::fabs(x[i]) * to_fixed, 65536.0f)));
      const uint32_t keep = uniforms[i] < threshold;
      const uint32_t sign = std::bit_cast<uint32_t>(x[i]) >> 31;
      codes[i] = static_cast<uint8_t>(keep * (1 + sign));  // 1: +scale, 2: -scale
    }
    PackCodes(codes, count, 2, packed + start / 4);
  }
}

absl::Status TernGradCodec::Decode(ByteReader& in, const CodecContext& context,
                                   std::span<float> out) const {
  TRIB_ASSIGN_OR_RETURN(float scale, in.GetScale("terngrad"));
  const size_t n = out.size();
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> bits, in.GetBytes(PackedBytes(n, 2)));
  const float value_of[4] = {0.0f, scale, -scale, 0.0f};
  uint8_t codes[kCodeBlock];
  for (size_t start = 0; start < n; start += kCodeBlock) {
    const size_t count = std::min(kCodeBlock, n - start);
    UnpackCodes(bits.data() + start / 4, count, 2, codes);
    uint32_t invalid = 0;
    for (size_t i = 0; i < count; ++i) {
      invalid |= codes[i] == 3;
      out[start + i] = value_of[codes[i]];
    }
    if (invalid) return absl::DataLossError("terngrad: invalid code 3");
  }
  return absl::OkStatus();
}

}  // namespace tributary
