#include "compress/qsgd_codec.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "compress/bit_packing.h"
#include "compress/fast_rng.h"

namespace tributary {

std::string QsgdCodec::spec() const {
  return absl::StrCat("qsgd:bits=", bits_, ",norm=", l2_norm_ ? "l2" : "max");
}

void QsgdCodec::Encode(std::span<const float> values, const CodecContext& context,
                       ByteWriter& out) const {
  double norm = 0.0;
  if (l2_norm_) {
    for (float v : values) norm += static_cast<double>(v) * v;
    norm = std::sqrt(norm);
  } else {
    for (float v : values) norm = std::max(norm, static_cast<double>(std::fabs(v)));
  }
  const float norm_f = static_cast<float>(norm);
  out.Put<float>(norm_f);
  const int levels = (1 << (bits_ - 1)) - 1;
  const float scale = norm_f > 0.0f ? levels / norm_f : 0.0f;
  const size_t n = values.size();
  BitWriter writer(out.Extend(PackedBytes(n, bits_)));
  FastRng rng(context.seed);
  for (size_t i = 0; i < n; ++i) {
    const float x = values[i];
    // min() guards the top level against rounding of |x| * scale just above `levels`.
    const float r = std::min(std::fabs(x) * scale, static_cast<float>(levels));
    const uint32_t level =
        std::min<uint32_t>(static_cast<uint32_t>(r + rng.UniformFloat()), levels);
    writer.Put((std::signbit(x) ? (1u << (bits_ - 1)) : 0u) | level, bits_);
  }
  writer.Flush();
}

absl::Status QsgdCodec::Decode(ByteReader& in, const CodecContext& context,
                               std::span<float> out) const {
  TRIB_ASSIGN_OR_RETURN(float norm, in.GetScale("qsgd"));
  const size_t n = out.size();
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, in.GetBytes(PackedBytes(n, bits_)));
  const int levels = (1 << (bits_ - 1)) - 1;
  const float unit = norm / levels;
  const uint32_t sign_bit = 1u << (bits_ - 1);
  BitReader reader(bytes);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t code = reader.Get(bits_);
    const float magnitude = unit * static_cast<float>(code & (sign_bit - 1));
    out[i] = (code & sign_bit) ? -magnitude : magnitude;
  }
  return absl::OkStatus();
}

}  // namespace tributary
