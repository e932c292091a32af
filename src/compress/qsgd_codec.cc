#include "compress/qsgd_codec.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/fast_rng.h"
#include "common/status_util.h"
#include "compress/bit_packing.h"
#include "compress/value_range.h"

namespace tributary {
namespace {

// The bucket's norm; NaN when a value is not finite.
double BucketNorm(std::span<const float> x, bool l2) {
  if (l2) {
    double sum = 0.0;
    for (float v : x) sum += static_cast<double>(v) * v;
    return std::sqrt(sum);  // NaN or inf when a value is
  }
  const ValueRange range = ScanValues(x);
  return range.finite ? range.max_abs : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

std::string QsgdCodec::spec() const {
  return absl::StrCat("qsgd:bits=", bits_, ",norm=", l2_norm_ ? "l2" : "max", ",bucket=", bucket_);
}

void QsgdCodec::Encode(std::span<const float> values, const CodecContext& context,
                       ByteWriter& out) const {
  const size_t n = values.size();
  const size_t bucket = BucketSize(n);
  const size_t buckets = (n + bucket - 1) / bucket;
  uint8_t* norms = out.Extend(buckets * sizeof(float) + PackedBytes(n, bits_));
  uint8_t* packed = norms + buckets * sizeof(float);
  const uint32_t levels = (1u << (bits_ - 1)) - 1;
  const float top = static_cast<float>(levels) * 65536.0f;
  const int sign_shift = bits_ - 1;
  FastRng rng(context.seed);
  uint16_t uniforms[kCodeBlock];
  uint8_t codes[kCodeBlock];
  for (size_t b = 0; b < buckets; ++b) {
    const size_t begin = b * bucket;
    const std::span<const float> x = values.subspan(begin, std::min(bucket, n - begin));
    const double norm = BucketNorm(x, l2_norm_);
    const float norm_f = static_cast<float>(norm);
    if (!std::isfinite(norm_f)) {
      // A non-finite input is sent as a NaN norm, which every decoder rejects: never hidden.
      const float nan = std::numeric_limits<float>::quiet_NaN();
      std::memcpy(norms + b * sizeof(float), &nan, sizeof(float));
      std::memset(packed + begin * bits_ / 8, 0, PackedBytes(x.size(), bits_));
      continue;
    }
    // |x| in units of 2^-16 of a level; min() keeps rounding of |x| * scale from passing the top.
    const float scale = norm_f > 0.0f ? levels / norm_f * 65536.0f : 0.0f;
    float sent_norm = norm_f;
    if (context.contract && norm_f > 0.0f) {
      // The rounding's variance on this bucket: a level's square times p (1 - p) per value,
      // p the chance of rounding up.
      double variance = 0.0, squares = 0.0;
      for (float v : x) {
        const int32_t fixed = static_cast<int32_t>(std::min(std::fabs(v) * scale, top));
        const double p = (fixed & 0xFFFF) * 0x1.0p-16;
        variance += p * (1.0 - p);
        squares += static_cast<double>(v) * v;
      }
      const double unit = norm / levels;
      const double omega = squares > 0.0 ? variance * unit * unit / squares : 0.0;
      sent_norm = static_cast<float>(norm / (1.0 + omega));
    }
    std::memcpy(norms + b * sizeof(float), &sent_norm, sizeof(float));
    for (size_t start = 0; start < x.size(); start += kCodeBlock) {
      const size_t count = std::min(kCodeBlock, x.size() - start);
      rng.FillUniform16(uniforms, count);
      for (size_t i = 0; i < count; ++i) {
        const float v = x[start + i];
        // Stochastic rounding: level = floor(a) + 1 with probability frac(a), on a 2^-16 grid.
        // Through int32 (the value is below 2^23): SSE has no float -> uint32 conversion.
        const uint32_t fixed =
            static_cast<uint32_t>(static_cast<int32_t>(std::min(std::fabs(v) * scale, top)));
        const uint32_t level = std::min((fixed + uniforms[i]) >> 16, levels);
        const uint32_t sign = std::bit_cast<uint32_t>(v) >> 31;
        codes[i] = static_cast<uint8_t>(level | (sign << sign_shift));
      }
      PackCodes(codes, count, bits_, packed + (begin + start) * bits_ / 8);
    }
  }
}

absl::Status QsgdCodec::Decode(ByteReader& in, const CodecContext& context,
                               std::span<float> out) const {
  const size_t n = out.size();
  const size_t bucket = BucketSize(n);
  const size_t buckets = (n + bucket - 1) / bucket;
  std::vector<float> norms(buckets);
  for (float& norm : norms) {
    TRIB_ASSIGN_OR_RETURN(norm, in.GetScale("qsgd"));
  }
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, in.GetBytes(PackedBytes(n, bits_)));
  const uint32_t levels = (1u << (bits_ - 1)) - 1;
  uint8_t codes[kCodeBlock];
  for (size_t b = 0; b < buckets; ++b) {
    const size_t begin = b * bucket;
    const size_t size = std::min(bucket, n - begin);
    const float unit = norms[b] / levels;
    for (size_t start = 0; start < size; start += kCodeBlock) {
      const size_t count = std::min(kCodeBlock, size - start);
      UnpackCodes(bytes.data() + (begin + start) * bits_ / 8, count, bits_, codes);
      for (size_t i = 0; i < count; ++i) {
        const float magnitude = unit * static_cast<float>(codes[i] & levels);
        out[begin + start + i] = (codes[i] >> (bits_ - 1)) ? -magnitude : magnitude;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace tributary
