#include "engine/techniques/bandwidth_aware.h"

namespace tributary {
namespace {

class BandwidthAware final : public Technique {
 public:
  std::string_view name() const override { return "bandwidth_aware"; }
  void ScaleRatios(int round, std::span<const double> uplink_bps,
                   std::span<double> scales) const override {
    const std::vector<double> computed = BandwidthRatioScales(uplink_bps);
    for (size_t i = 0; i < scales.size(); ++i) scales[i] *= computed[i];
  }
};

}  // namespace

std::vector<ConfigField<ExperimentConfig>> BandwidthAwareFields() {
  return {BoolField<ExperimentConfig>("compress.bandwidth_aware",
                                      "scale each client's top-k ratio by its uplink bandwidth",
                                      [](ExperimentConfig& c) -> bool& {
                                        return c.plugins.Mutable<BandwidthAwareOptions>().enabled;
                                      })};
}

absl::StatusOr<std::unique_ptr<Technique>> CreateBandwidthAware(const ExperimentConfig& config,
                                                                const ModelState& global) {
  if (!config.plugins.Get<BandwidthAwareOptions>().enabled) return nullptr;
  return std::make_unique<BandwidthAware>();
}

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
