#include "compress/value_range.h"

#include <algorithm>
#include <bit>
#include <climits>

#include "common/cpu_dispatch.h"

namespace tributary {
namespace {

// For finite floats, flipping the magnitude bits of negatives gives an int32 that orders like
// the value; the same flip maps it back.
int32_t OrderedKey(uint32_t bits) {
  return static_cast<int32_t>(
      bits ^ (static_cast<uint32_t>(static_cast<int32_t>(bits) >> 31) & 0x7fffffffu));
}
float FromOrderedKey(int32_t key) {
  return std::bit_cast<float>(static_cast<uint32_t>(key) ^
                              (static_cast<uint32_t>(key >> 31) & 0x7fffffffu));
}

}  // namespace

TRIB_CLONE_AVX2 ValueRange ScanValues(std::span<const float> values) {
  if (values.empty()) return {};
  int32_t lo = INT32_MAX, hi = INT32_MIN;
  uint32_t max_abs_bits = 0;
  for (float v : values) {
    const uint32_t bits = std::bit_cast<uint32_t>(v);
    const int32_t key = OrderedKey(bits);
    lo = std::min(lo, key);
    hi = std::max(hi, key);
    max_abs_bits = std::max(max_abs_bits, bits & 0x7fffffffu);
  }
  ValueRange range;
  range.finite = max_abs_bits < 0x7f800000u;
  range.min = FromOrderedKey(lo);
  range.max = FromOrderedKey(hi);
  range.max_abs = std::bit_cast<float>(max_abs_bits);
  return range;
}

}  // namespace tributary
