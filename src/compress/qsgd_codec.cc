#include "compress/qsgd_codec.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "compress/bit_packing.h"
#include "compress/fast_rng.h"
#include "compress/value_range.h"

namespace tributary {

std::string QsgdCodec::spec() const {
  return absl::StrCat("qsgd:bits=", bits_, ",norm=", l2_norm_ ? "l2" : "max");
}

void QsgdCodec::Encode(std::span<const float> values, const CodecContext& context,
                       ByteWriter& out) const {
  double norm = 0.0;
  bool finite = true;
  if (l2_norm_) {
    for (float v : values) norm += static_cast<double>(v) * v;
    norm = std::sqrt(norm);
    finite = std::isfinite(norm);
  } else {
    const ValueRange range = ScanValues(values);
    norm = range.max_abs;
    finite = range.finite;
  }
  // A non-finite input is sent as a NaN norm, which every decoder rejects: never hidden.
  const float norm_f = finite ? static_cast<float>(norm) : std::numeric_limits<float>::quiet_NaN();
  out.Put<float>(norm_f);
  const size_t n = values.size();
  uint8_t* packed = out.Extend(PackedBytes(n, bits_));
  if (!finite) {
    std::memset(packed, 0, PackedBytes(n, bits_));
    return;
  }
  const uint32_t levels = (1u << (bits_ - 1)) - 1;
  // |x| in units of 2^-16 of a level; min() keeps rounding of |x| * scale from passing the top.
  const float scale = norm_f > 0.0f ? levels / norm_f * 65536.0f : 0.0f;
  const float top = static_cast<float>(levels) * 65536.0f;
  const int sign_shift = bits_ - 1;
  FastRng rng(context.seed);
  uint16_t uniforms[kCodeBlock];
  uint8_t codes[kCodeBlock];
  for (size_t start = 0; start < n; start += kCodeBlock) {
    const size_t count = std::min(kCodeBlock, n - start);
    rng.FillUniform16(uniforms, count);
    const float* x = values.data() + start;
    for (size_t i = 0; i < count; ++i) {
      // Stochastic rounding: level = floor(a) + 1 with probability frac(a), on a 2^-16 grid.
      // Through int32 (the value is below 2^23): SSE has no float -> uint32 conversion.
      const uint32_t fixed =
          static_cast<uint32_t>(static_cast<int32_t>(std::min(std::fabs(x[i]) * scale, top)));
      const uint32_t level = std::min((fixed + uniforms[i]) >> 16, levels);
      const uint32_t sign = std::bit_cast<uint32_t>(x[i]) >> 31;
      codes[i] = static_cast<uint8_t>(level | (sign << sign_shift));
    }
    PackCodes(codes, count, bits_, packed + start * bits_ / 8);
  }
}

absl::Status QsgdCodec::Decode(ByteReader& in, const CodecContext& context,
                               std::span<float> out) const {
  TRIB_ASSIGN_OR_RETURN(float norm, in.GetScale("qsgd"));
  const size_t n = out.size();
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, in.GetBytes(PackedBytes(n, bits_)));
  const uint32_t levels = (1u << (bits_ - 1)) - 1;
  const float unit = norm / levels;
  // Every code's value, looked up: codes are at most 8 bits.
  std::vector<float> value_of(1u << bits_);
  for (uint32_t code = 0; code < value_of.size(); ++code) {
    const float magnitude = unit * static_cast<float>(code & levels);
    value_of[code] = (code >> (bits_ - 1)) ? -magnitude : magnitude;
  }
  uint8_t codes[kCodeBlock];
  for (size_t start = 0; start < n; start += kCodeBlock) {
    const size_t count = std::min(kCodeBlock, n - start);
    UnpackCodes(bytes.data() + start * bits_ / 8, count, bits_, codes);
    for (size_t i = 0; i < count; ++i) out[start + i] = value_of[codes[i]];
  }
  return absl::OkStatus();
}

}  // namespace tributary
