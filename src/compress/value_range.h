// One vectorizable pass for the statistics quantizers need before they encode: the smallest and
// largest value, the largest magnitude, and whether every value is finite. Works on the bit
// patterns as integers, since SSE2 can reduce those without -ffast-math (float min/max
// reductions only vectorize when NaN may be ignored, and here NaN must be seen).
#ifndef TRIBUTARY_COMPRESS_VALUE_RANGE_H_
#define TRIBUTARY_COMPRESS_VALUE_RANGE_H_

#include <cstdint>
#include <span>

namespace tributary {

struct ValueRange {
  float min = 0.0f;
  float max = 0.0f;
  float max_abs = 0.0f;
  bool finite = true;
};

// Built for AVX2 and for baseline x86-64, picked at load time (common/cpu_dispatch.h).
ValueRange ScanValues(std::span<const float> values);

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_VALUE_RANGE_H_
