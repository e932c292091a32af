#include "engine/bandwidth_aware.h"

namespace tributary {

std::vector<double> BandwidthRatioScales(std::span<const double> uplink_bps) {
  double mean = 0.0;
  int known = 0;
  for (double bps : uplink_bps) {
    if (bps <= 0.0) continue;
    mean += bps;
    ++known;
  }
  std::vector<double> scales(uplink_bps.size(), 1.0);
  if (known == 0) return scales;
  mean /= known;
  for (size_t i = 0; i < uplink_bps.size(); ++i) {
    if (uplink_bps[i] > 0.0) scales[i] = uplink_bps[i] / mean;
  }
  return scales;
}

}  // namespace tributary
