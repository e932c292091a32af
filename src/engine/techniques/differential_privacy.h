// Client-level differential privacy: DP-FedAvg (McMahan, Ramage, Talwar, Zhang 2018) with
// optional adaptive clipping (Andrew, Thakkar, McMahan, Ramaswamy 2021), accounted by the RDP
// accountant (privacy/rdp_accountant.h) under Poisson client sampling at q = K / N.
//
// Client side: the update (what the uplink codec encodes) is clipped to L2 norm C, the round's
// clip norm sent with the task; in distributed mode the client also adds its noise share,
// N(0, (z C)^2 / m) per coordinate; with adaptive clipping it attaches b - 1/2, b = [norm <= C]
// (plus its count-noise share in distributed mode).
// Server side: each decoded update is clipped to C again (central mode: a client cannot raise
// the sensitivity, whatever it or the codec did), the clipped updates are summed (weight 1 each),
// noise N(0, (z C)^2) is added (central mode), and the sum is divided by the expected cohort
// m = K, not by the clients that arrived; the strategy's server step (fedavg: model += mean;
// fedavgm, fedadam, ... over the noised mean) then applies it. With adaptive clipping the noised
// count of unclipped clients moves C geometrically towards the target quantile, and the update
// noise is z_update = (z^-2 - (2 sigma_b)^-2)^(-1/2) so that both releases together cost as one
// Gaussian mechanism of multiplier z (the paper's Theorem 1).
#ifndef TRIBUTARY_ENGINE_TECHNIQUES_DIFFERENTIAL_PRIVACY_H_
#define TRIBUTARY_ENGINE_TECHNIQUES_DIFFERENTIAL_PRIVACY_H_

#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config_field.h"
#include "engine/experiment.h"
#include "engine/technique.h"
#include "privacy/privacy_spec.h"

namespace tributary {

// The [privacy] keys (stored as a PrivacySpec).
std::vector<ConfigField<ExperimentConfig>> PrivacyFields();
// Poisson sampling (what the accountant covers) when privacy is on.
std::optional<ClientSampling> PrivacySampling(const ExperimentConfig& config);
// The [privacy] keys against the rest of the config (sampling, strategy, codecs, target).
absl::Status ValidateDifferentialPrivacy(const ExperimentConfig& config);

absl::StatusOr<std::unique_ptr<Technique>> CreateDifferentialPrivacy(const ExperimentConfig& config,
                                                                     const ModelState& global);

// Scales `values` so their L2 norm is at most `clip_norm` (never above, despite rounding);
// returns the norm before.
double ClipToNorm(std::span<float> values, double clip_norm);

// Standard deviation of the noise on the count of unclipped clients: privacy.
// count_noise_multiplier, or the expected cohort / 20 (the paper's choice); 0 without adaptive
// clipping.
double CountNoiseStddev(const PrivacySpec& spec, double expected_cohort);
// The update's noise multiplier: z, or with adaptive clipping (z^-2 - (2 sigma_b)^-2)^(-1/2).
double UpdateNoiseMultiplier(const PrivacySpec& spec, double expected_cohort);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_TECHNIQUES_DIFFERENTIAL_PRIVACY_H_
