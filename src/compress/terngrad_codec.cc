#include "compress/terngrad_codec.h"

#include <cmath>

#include "common/status_util.h"
#include "compress/bit_packing.h"
#include "compress/fast_rng.h"

namespace tributary {
namespace {
// 2-bit codes.
constexpr uint32_t kZero = 0, kPositive = 1, kNegative = 2;
}  // namespace

void TernGradCodec::Encode(std::span<const float> values, const CodecContext& context,
                           ByteWriter& out) const {
  float scale = 0.0f;
  for (float v : values) scale = std::max(scale, std::fabs(v));
  out.Put<float>(scale);
  const float inverse = scale > 0.0f ? 1.0f / scale : 0.0f;
  BitWriter writer(out.Extend(PackedBytes(values.size(), 2)));
  FastRng rng(context.seed);
  for (float v : values) {
    const bool keep = rng.UniformFloat() < std::fabs(v) * inverse;
    writer.Put(keep ? (std::signbit(v) ? kNegative : kPositive) : kZero, 2);
  }
  writer.Flush();
}

absl::Status TernGradCodec::Decode(ByteReader& in, const CodecContext& context,
                                   std::span<float> out) const {
  TRIB_ASSIGN_OR_RETURN(float scale, in.GetScale("terngrad"));
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> bits, in.GetBytes(PackedBytes(out.size(), 2)));
  BitReader reader(bits);
  for (float& v : out) {
    const uint32_t code = reader.Get(2);
    if (code > kNegative) return absl::DataLossError("terngrad: invalid code 3");
    v = code == kZero ? 0.0f : (code == kPositive ? scale : -scale);
  }
  return absl::OkStatus();
}

}  // namespace tributary
