// The [privacy] section: client-level differential privacy (DP-FedAvg, McMahan et al. 2018), with
// optional adaptive clipping (Andrew et al. 2021). docs/privacy.md explains each key.
#ifndef TRIBUTARY_PRIVACY_PRIVACY_SPEC_H_
#define TRIBUTARY_PRIVACY_PRIVACY_SPEC_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tributary {

enum class PrivacyMode {
  kOff,
  kCentral,      // clients clip; the trusted server clips again and adds the noise to the sum
  kDistributed,  // clients clip and each adds its share of the noise (for secure aggregation)
};

absl::StatusOr<PrivacyMode> ParsePrivacyMode(std::string_view name);
std::string_view PrivacyModeName(PrivacyMode mode);

struct PrivacySpec {
  PrivacyMode mode = PrivacyMode::kOff;
  double noise_multiplier = 0.0;  // z: noise std = z * clip_norm on the sum of clipped updates
  double clip_norm = 0.0;         // C, the L2 bound of each client's update (adaptive: the first)
  double delta = 1e-5;            // the delta epsilon is reported at
  double target_epsilon = 0.0;    // stop before a round would exceed it; 0: no limit
  // Adaptive clipping: C follows the target_quantile of the update norms, geometric steps of
  // clip_learning_rate on a noised count of unclipped clients (count noise std
  // count_noise_multiplier; 0: expected cohort / 20, the paper's choice).
  bool adaptive_clipping = false;
  double target_quantile = 0.5;
  double clip_learning_rate = 0.2;
  double count_noise_multiplier = 0.0;
  // Distributed mode: the number of clients m whose noise shares (each of std z C / sqrt(m))
  // make up the full noise; 0: the expected cohort. Rounds with fewer accepted clients carry less
  // noise and are accounted with it.
  int distributed_clients = 0;
  // Draws the noise from the run's seed, so runs can be repeated and compared; the released
  // model is then private only against whoever does not know run.seed. false: the operating
  // system's cryptographic randomness.
  bool reproducible_noise = false;

  bool enabled() const { return mode != PrivacyMode::kOff; }
  // Checks the keys on their own (the engine checks them against the rest of the config).
  absl::Status Validate() const;
};

}  // namespace tributary

#endif  // TRIBUTARY_PRIVACY_PRIVACY_SPEC_H_
