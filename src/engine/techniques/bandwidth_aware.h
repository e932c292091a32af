// Bandwidth-aware compression (BCRS-style, compress.bandwidth_aware): each client's top-k count
// is scaled by its uplink bandwidth over the mean of the round's connected clients, so uploads
// take about the same time while the round's mean ratio stays the configured one. The simulator
// takes the bandwidths from its system model, the deployed server from what clients declared
// when they registered (`tributary client --uplink-mbps`); both scale the same way.
#ifndef TRIBUTARY_ENGINE_TECHNIQUES_BANDWIDTH_AWARE_H_
#define TRIBUTARY_ENGINE_TECHNIQUES_BANDWIDTH_AWARE_H_

#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config_field.h"
#include "engine/experiment.h"
#include "engine/technique.h"

namespace tributary {

// compress.bandwidth_aware, owned by this technique.
struct BandwidthAwareOptions {
  bool enabled = false;
};
std::vector<ConfigField<ExperimentConfig>> BandwidthAwareFields();

absl::StatusOr<std::unique_ptr<Technique>> CreateBandwidthAware(const ExperimentConfig& config,
                                                                const ModelState& global);

// The ratio scale of each client, from the uplink bandwidths (bit/s) of the round's clients in
// cohort order. A client of unknown bandwidth (0) keeps scale 1 and is left out of the mean.
std::vector<double> BandwidthRatioScales(std::span<const double> uplink_bps);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_TECHNIQUES_BANDWIDTH_AWARE_H_
