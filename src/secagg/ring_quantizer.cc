#include "secagg/ring_quantizer.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace tributary {

absl::StatusOr<RingQuantizer> RingQuantizer::Create(double clip, int bits) {
  if (!(clip > 0.0 && std::isfinite(clip))) {
    return absl::InvalidArgumentError(absl::StrCat("secagg.clip_range must be > 0, got ", clip));
  }
  if (bits < 1 || bits > 31) {
    return absl::InvalidArgumentError(absl::StrCat("secagg.bits must be in [1, 31], got ", bits));
  }
  return RingQuantizer(clip, bits);
}

std::vector<uint32_t> RingQuantizer::Quantize(std::span<const float> values,
                                              const SymmetricKey& rounding_key) const {
  // Uniform draws in [0, 1) from the keystream: 32 random bits each.
  std::vector<uint32_t> random(values.size(), 0);
  AddMask(rounding_key, random, /*subtract=*/false);
  std::vector<uint32_t> levels(values.size());
  const double scale = static_cast<double>(levels_) / (2.0 * clip_);
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = std::isfinite(values[i]) ? std::clamp<double>(values[i], -clip_, clip_) : 0.0;
    const double position = (v + clip_) * scale;  // in [0, levels_]
    const double below = std::floor(position);
    const double u = random[i] * 0x1p-32;
    const double level = below + (u < position - below ? 1.0 : 0.0);
    levels[i] = static_cast<uint32_t>(std::min<double>(level, static_cast<double>(levels_)));
  }
  return levels;
}

std::vector<float> RingQuantizer::DequantizeSum(std::span<const uint32_t> sum, int count) const {
  std::vector<float> out(sum.size());
  const double step = 2.0 * clip_ / static_cast<double>(levels_);
  for (size_t i = 0; i < sum.size(); ++i) {
    out[i] = static_cast<float>(sum[i] * step - count * clip_);
  }
  return out;
}

}  // namespace tributary
