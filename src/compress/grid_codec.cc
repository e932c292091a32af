#include "compress/grid_codec.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace tributary {
namespace {

// Requires: `value` finite.
int64_t StepsOf(float value, int exp) {
  const double steps = std::nearbyint(std::ldexp(static_cast<double>(value), exp));
  return static_cast<int64_t>(std::clamp(steps, -static_cast<double>(GridCodec::kMaxSteps),
                                         static_cast<double>(GridCodec::kMaxSteps)));
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Sent for a value that is not finite: beyond the range, so every decoder refuses the payload
// (never hidden as a finite value).
constexpr int64_t kNotFinite = GridCodec::kMaxSteps + 1;

}  // namespace

std::string GridCodec::spec() const { return absl::StrCat("grid:exp=", exp_); }

float SnapToGrid(float value, int exp) {
  if (!std::isfinite(value)) return value;
  return static_cast<float>(std::ldexp(static_cast<double>(StepsOf(value, exp)), -exp));
}

void GridCodec::Encode(std::span<const float> values, const CodecContext& context,
                       ByteWriter& out) const {
  for (float v : values) out.PutVarint(ZigZag(std::isfinite(v) ? StepsOf(v, exp_) : kNotFinite));
}

absl::Status GridCodec::Decode(ByteReader& in, const CodecContext& context,
                               std::span<float> out) const {
  for (float& v : out) {
    TRIB_ASSIGN_OR_RETURN(const uint64_t code, in.GetVarint());
    const int64_t steps = UnZigZag(code);
    if (steps > kMaxSteps || steps < -kMaxSteps) {
      return absl::DataLossError(
          absl::StrCat("grid: ", steps,
                       " steps (a value that was not finite, or beyond the exact range of 2^24)"));
    }
    v = static_cast<float>(std::ldexp(static_cast<double>(steps), -exp_));
  }
  return absl::OkStatus();
}

}  // namespace tributary
