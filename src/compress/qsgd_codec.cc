#include "compress/qsgd_codec.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "compress/fast_rng.h"

namespace tributary {

std::string QsgdCodec::spec() const {
  return absl::StrCat("qsgd:bits=", bits_, ",norm=", l2_norm_ ? "l2" : "max");
}

void QsgdCodec::Encode(std::span<const float> values, uint64_t seed, ByteWriter& out) const {
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
  uint8_t* dst = out.Extend((n * bits_ + 7) / 8);
  std::memset(dst, 0, (n * bits_ + 7) / 8);
  FastRng rng(seed);
  uint64_t buffer = 0;
  int filled = 0;
  size_t written = 0;
  for (size_t i = 0; i < n; ++i) {
    const float x = values[i];
    // min() guards the top level against rounding of |x| * scale just above `levels`.
    const float r = std::min(std::fabs(x) * scale, static_cast<float>(levels));
    const uint32_t level =
        std::min<uint32_t>(static_cast<uint32_t>(r + rng.UniformFloat()), levels);
    const uint32_t code = (std::signbit(x) ? (1u << (bits_ - 1)) : 0u) | level;
    buffer |= static_cast<uint64_t>(code) << filled;
    filled += bits_;
    if (filled >= 32) {
      std::memcpy(dst + written, &buffer, 4);
      written += 4;
      buffer >>= 32;
      filled -= 32;
    }
  }
  while (filled > 0) {
    dst[written++] = static_cast<uint8_t>(buffer);
    buffer >>= 8;
    filled -= 8;
  }
}

absl::Status QsgdCodec::Decode(ByteReader& in, std::span<float> out) const {
  TRIB_ASSIGN_OR_RETURN(float norm, in.Get<float>());
  if (!std::isfinite(norm) || norm < 0.0f) {
    return absl::DataLossError(absl::StrCat("qsgd: invalid norm ", norm));
  }
  const size_t n = out.size();
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, in.GetBytes((n * bits_ + 7) / 8));
  const int levels = (1 << (bits_ - 1)) - 1;
  const float unit = norm / levels;
  const uint32_t mask = (1u << bits_) - 1;
  const uint32_t sign_bit = 1u << (bits_ - 1);
  for (size_t i = 0; i < n; ++i) {
    const size_t bit = i * bits_;
    // A code spans at most two bytes (bits <= 8).
    uint32_t window = bytes[bit / 8];
    if (bit / 8 + 1 < bytes.size()) window |= static_cast<uint32_t>(bytes[bit / 8 + 1]) << 8;
    const uint32_t code = (window >> (bit % 8)) & mask;
    const uint32_t level = code & (sign_bit - 1);  // <= levels by construction
    const float magnitude = unit * static_cast<float>(level);
    out[i] = (code & sign_bit) ? -magnitude : magnitude;
  }
  return absl::OkStatus();
}

}  // namespace tributary
