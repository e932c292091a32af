#include "compress/terngrad_codec.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/fast_rng.h"
#include "common/status_util.h"
#include "compress/bit_packing.h"
#include "compress/value_range.h"

// 2-bit codes: 0 is zero, 1 is +scale, 2 is -scale; 3 is invalid.
namespace tributary {
namespace {

// The magnitude values are clipped to: c times the standard deviation about the mean.
double ClipLimit(std::span<const float> x, double c) {
  double sum = 0.0;
  for (float v : x) sum += v;
  const double mean = sum / static_cast<double>(x.size());
  double squares = 0.0;
  for (float v : x) squares += (v - mean) * (v - mean);
  return c * std::sqrt(squares / static_cast<double>(x.size()));
}

}  // namespace

std::string TernGradCodec::spec() const {
  return absl::StrCat("terngrad:clip=", clip_, ",scale=", per_tensor_ ? "tensor" : "vector");
}

std::vector<std::pair<size_t, size_t>> TernGradCodec::Parts(size_t n,
                                                            const CodecContext& context) const {
  size_t total = 0;
  for (const TensorSpec& spec : context.layout) total += static_cast<size_t>(spec.NumElements());
  if (!per_tensor_ || context.layout.empty() || total != n) return {{0, n}};
  std::vector<std::pair<size_t, size_t>> parts;
  size_t offset = 0;
  for (const TensorSpec& spec : context.layout) {
    const size_t size = static_cast<size_t>(spec.NumElements());
    parts.push_back({offset, offset + size});
    offset += size;
  }
  return parts;
}

void TernGradCodec::Encode(std::span<const float> values, const CodecContext& context,
                           ByteWriter& out) const {
  const size_t n = values.size();
  const std::vector<std::pair<size_t, size_t>> parts = Parts(n, context);
  uint8_t* scales = out.Extend(parts.size() * sizeof(float) + PackedBytes(n, 2));
  uint8_t* packed = scales + parts.size() * sizeof(float);
  std::vector<uint8_t> codes(n);
  FastRng rng(context.seed);
  uint16_t uniforms[kCodeBlock];
  for (size_t p = 0; p < parts.size(); ++p) {
    const auto [begin, end] = parts[p];
    const std::span<const float> x = values.subspan(begin, end - begin);
    const ValueRange range = ScanValues(x);
    float scale = range.max_abs;
    double limit = std::numeric_limits<double>::infinity();
    if (range.finite && clip_ > 0.0 && !x.empty()) {
      limit = ClipLimit(x, clip_);
      scale = static_cast<float>(std::min<double>(scale, limit));
    }
    if (!range.finite) {
      // A non-finite input is sent as a NaN scale, which the decoder rejects: never hidden.
      const float nan = std::numeric_limits<float>::quiet_NaN();
      std::memcpy(scales + p * sizeof(float), &nan, sizeof(float));
      std::fill(codes.begin() + begin, codes.begin() + end, 0);
      continue;
    }
    float sent_scale = scale;
    if (context.contract && scale > 0.0f) {
      // Variance of the ternary rounding of the clipped values c: sum of s |c| - c^2.
      double variance = 0.0, squares = 0.0;
      for (float v : x) {
        const double c = std::min(std::fabs(v), scale);
        variance += scale * c - c * c;
        squares += c * c;
      }
      const double omega = squares > 0.0 ? variance / squares : 0.0;
      sent_scale = static_cast<float>(scale / (1.0 + omega));
    }
    std::memcpy(scales + p * sizeof(float), &sent_scale, sizeof(float));
    // Keep probability min(|v|, clip) / scale on a 2^-16 grid (clipped values are kept always).
    const float to_fixed = scale > 0.0f ? 65536.0f / scale : 0.0f;
    for (size_t start = 0; start < x.size(); start += kCodeBlock) {
      const size_t count = std::min(kCodeBlock, x.size() - start);
      rng.FillUniform16(uniforms, count);
      const float* block = x.data() + start;
      uint8_t* block_codes = codes.data() + begin + start;
      for (size_t i = 0; i < count; ++i) {
        // Through int32 (at most 2^16): SSE has no float -> uint32 conversion.
        const uint32_t threshold = static_cast<uint32_t>(
            static_cast<int32_t>(std::min(std::fabs(block[i]) * to_fixed, 65536.0f)));
        const uint32_t keep = uniforms[i] < threshold;
        const uint32_t sign = std::bit_cast<uint32_t>(block[i]) >> 31;
        block_codes[i] = static_cast<uint8_t>(keep * (1 + sign));  // 1: +scale, 2: -scale
      }
    }
  }
  PackCodes(codes.data(), n, 2, packed);
}

absl::Status TernGradCodec::Decode(ByteReader& in, const CodecContext& context,
                                   std::span<float> out) const {
  const size_t n = out.size();
  const std::vector<std::pair<size_t, size_t>> parts = Parts(n, context);
  std::vector<float> scales(parts.size());
  for (float& scale : scales) {
    TRIB_ASSIGN_OR_RETURN(scale, in.GetScale("terngrad"));
  }
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> bits, in.GetBytes(PackedBytes(n, 2)));
  std::vector<uint8_t> codes(n);
  UnpackCodes(bits.data(), n, 2, codes.data());
  for (size_t p = 0; p < parts.size(); ++p) {
    const float value_of[4] = {0.0f, scales[p], -scales[p], 0.0f};
    uint32_t invalid = 0;
    for (size_t i = parts[p].first; i < parts[p].second; ++i) {
      invalid |= codes[i] == 3;
      out[i] = value_of[codes[i]];
    }
    if (invalid) return absl::DataLossError("terngrad: invalid code 3");
  }
  return absl::OkStatus();
}

}  // namespace tributary
