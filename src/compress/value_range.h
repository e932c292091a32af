// One vectorizable pass for the statistics quantizers need before they encode: the smallest and
// largest value, the largest magnitude, and whether every value is finite. Works on the bit
// patterns as integers, since SSE2 can reduce those without -ffast-math (float min/max
// reductions only vectorize when NaN may be ignored, and here NaN must be seen).
#ifndef TRIBUTARY_COMPRESS_VALUE_RANGE_H_
#define TRIBUTARY_COMPRESS_VALUE_RANGE_H_

#include <algorithm>
#include <bit>
#include <cstdint>
#include <span>

namespace tributary {

struct ValueRange {
  float min = 0.0f;
  float max = 0.0f;
  float max_abs = 0.0f;
  bool finite = true;
};

inline ValueRange ScanValues(std::span<const float> values) {
  if (values.empty()) return {};
  // For finite floats, flipping the magnitude bits of negatives gives an int32 that orders like
  // the value.
  const auto ordered = [](uint32_t bits) {
    return static_cast<int32_t>(
        bits ^ ((static_cast<uint32_t>(static_cast<int32_t>(bits) >> 31)) & 0x7fffffffu));
  };
  int32_t lo = INT32_MAX, hi = INT32_MIN;
  uint32_t max_abs_bits = 0;
  for (float v : values) {
    const uint32_t bits = std::bit_cast<uint32_t>(v);
    const int32_t key = ordered(bits);
    lo = std::min(lo, key);
    hi = std::max(hi, key);
    max_abs_bits = std::max(max_abs_bits, bits & 0x7fffffffu);
  }
  const auto unordered = [](int32_t key) {
    const uint32_t k = static_cast<uint32_t>(key);
    return std::bit_cast<float>(k ^ ((static_cast<uint32_t>(key >> 31)) & 0x7fffffffu));
  };
  ValueRange range;
  range.finite = max_abs_bits < 0x7f800000u;
  range.min = unordered(lo);
  range.max = unordered(hi);
  range.max_abs = std::bit_cast<float>(max_abs_bits);
  return range;
}

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_VALUE_RANGE_H_
