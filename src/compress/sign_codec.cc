#include "compress/sign_codec.h"

#include <cmath>

#include "common/status_util.h"
#include "compress/bit_packing.h"

namespace tributary {

void SignCodec::Encode(std::span<const float> values, const CodecContext& context,
                       ByteWriter& out) const {
  double l1 = 0.0;
  for (float v : values) l1 += std::fabs(v);
  out.Put<float>(values.empty() ? 0.0f : static_cast<float>(l1 / values.size()));
  BitWriter writer(out.Extend(PackedBytes(values.size(), 1)));
  for (float v : values) writer.Put(std::signbit(v) ? 1u : 0u, 1);
  writer.Flush();
}

absl::Status SignCodec::Decode(ByteReader& in, const CodecContext& context,
                               std::span<float> out) const {
  TRIB_ASSIGN_OR_RETURN(float scale, in.GetScale("sign"));
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> bits, in.GetBytes(PackedBytes(out.size(), 1)));
  BitReader reader(bits);
  for (float& v : out) v = reader.Get(1) ? -scale : scale;
  return absl::OkStatus();
}

}  // namespace tributary
