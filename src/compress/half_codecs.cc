#include "compress/half_codecs.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include "common/status_util.h"

namespace tributary {

uint16_t FloatToHalf(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t magnitude = bits & 0x7fffffff;
  if (magnitude > 0x7f800000) return sign | 0x7e00;   // NaN stays NaN
  if (magnitude == 0x7f800000) return sign | 0x7c00;  // infinity
  if (magnitude >= 0x477ff000) return sign | 0x7bff;  // finite, rounds past 65504: saturate
  if (magnitude < 0x38800000) {
    // Below 2^-14: a subnormal half, in units of 2^-24. Scaling by 2^24 is exact; nearbyint
    // rounds to nearest even in the default rounding mode.
    const float units = std::bit_cast<float>(magnitude) * 0x1.0p24f;
    return sign | static_cast<uint16_t>(std::nearbyint(units));
  }
  // Rebias the exponent (127 -> 15) and round the mantissa from 23 to 10 bits, ties to even; a
  // carry out of the mantissa correctly bumps the exponent.
  const uint32_t rebiased = magnitude - (112u << 23);
  const uint32_t rounded = rebiased + 0x0fff + ((rebiased >> 13) & 1);
  return sign | static_cast<uint16_t>(rounded >> 13);
}

float HalfToFloat(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000) << 16;
  const uint32_t exponent = (half >> 10) & 0x1f;
  const uint32_t mantissa = half & 0x3ff;
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * 0x1.0p-24f;
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000 | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t FloatToBfloat16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((bits >> 16) | 0x40);
  return static_cast<uint16_t>((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

float Bfloat16ToFloat(uint16_t bf16) {
  return std::bit_cast<float>(static_cast<uint32_t>(bf16) << 16);
}

namespace {

void StoreHalf(uint16_t half, uint8_t* out) { std::memcpy(out, &half, 2); }
uint16_t LoadHalf(const uint8_t* in) {
  uint16_t half;
  std::memcpy(&half, in, 2);
  return half;
}

#if defined(__x86_64__)
__attribute__((target("avx,f16c"))) void FloatsToHalvesF16c(std::span<const float> in,
                                                            uint8_t* out) {
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  const __m256 largest = _mm256_set1_ps(65504.0f);
  const __m256 infinity = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  size_t i = 0;
  for (; i + 8 <= in.size(); i += 8) {
    const __m256 x = _mm256_loadu_ps(in.data() + i);
    const __m256 magnitude = _mm256_andnot_ps(sign_mask, x);
    // Finite values beyond the half range saturate (F16C would round them to infinity).
    const __m256 saturate = _mm256_and_ps(_mm256_cmp_ps(magnitude, largest, _CMP_GT_OQ),
                                          _mm256_cmp_ps(magnitude, infinity, _CMP_LT_OQ));
    const __m256 clamped =
        _mm256_blendv_ps(x, _mm256_or_ps(largest, _mm256_and_ps(sign_mask, x)), saturate);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * i),
                     _mm256_cvtps_ph(clamped, _MM_FROUND_TO_NEAREST_INT));
  }
  for (; i < in.size(); ++i) StoreHalf(FloatToHalf(in[i]), out + 2 * i);
}

__attribute__((target("avx,f16c"))) void HalvesToFloatsF16c(const uint8_t* in,
                                                            std::span<float> out) {
  size_t i = 0;
  for (; i + 8 <= out.size(); i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * i));
    _mm256_storeu_ps(out.data() + i, _mm256_cvtph_ps(h));
  }
  for (; i < out.size(); ++i) out[i] = HalfToFloat(LoadHalf(in + 2 * i));
}

bool HasF16c() {
  // F16C from CPUID leaf 1 (ECX bit 29): clang's __builtin_cpu_supports does not know it.
  static const bool has = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __builtin_cpu_supports("avx") && __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 &&
           (ecx & (1u << 29)) != 0;
  }();
  return has;
}
#endif

}  // namespace

void FloatsToHalves(std::span<const float> in, uint8_t* out) {
#if defined(__x86_64__)
  if (HasF16c()) return FloatsToHalvesF16c(in, out);
#endif
  for (size_t i = 0; i < in.size(); ++i) StoreHalf(FloatToHalf(in[i]), out + 2 * i);
}

void HalvesToFloats(const uint8_t* in, std::span<float> out) {
#if defined(__x86_64__)
  if (HasF16c()) return HalvesToFloatsF16c(in, out);
#endif
  for (size_t i = 0; i < out.size(); ++i) out[i] = HalfToFloat(LoadHalf(in + 2 * i));
}

namespace {

template <uint16_t (*ToHalf)(float)>
void EncodeHalves(std::span<const float> values, ByteWriter& out) {
  uint8_t* dst = out.Extend(values.size() * 2);
  for (size_t i = 0; i < values.size(); ++i) {
    const uint16_t h = ToHalf(values[i]);
    std::memcpy(dst + 2 * i, &h, 2);
  }
}

template <float (*FromHalf)(uint16_t)>
absl::Status DecodeHalves(ByteReader& in, std::span<float> out) {
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, in.GetBytes(out.size() * 2));
  for (size_t i = 0; i < out.size(); ++i) {
    uint16_t h;
    std::memcpy(&h, bytes.data() + 2 * i, 2);
    out[i] = FromHalf(h);
  }
  return absl::OkStatus();
}

}  // namespace

void Fp16Codec::Encode(std::span<const float> values, const CodecContext& context,
                       ByteWriter& out) const {
  FloatsToHalves(values, out.Extend(values.size() * 2));
}
absl::Status Fp16Codec::Decode(ByteReader& in, const CodecContext& context,
                               std::span<float> out) const {
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, in.GetBytes(out.size() * 2));
  HalvesToFloats(bytes.data(), out);
  return absl::OkStatus();
}
void Bf16Codec::Encode(std::span<const float> values, const CodecContext& context,
                       ByteWriter& out) const {
  EncodeHalves<FloatToBfloat16>(values, out);
}
absl::Status Bf16Codec::Decode(ByteReader& in, const CodecContext& context,
                               std::span<float> out) const {
  return DecodeHalves<Bfloat16ToFloat>(in, out);
}

}  // namespace tributary
