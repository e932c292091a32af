#include "privacy/privacy_spec.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace tributary {

absl::StatusOr<PrivacyMode> ParsePrivacyMode(std::string_view name) {
  if (name == "off") return PrivacyMode::kOff;
  if (name == "central") return PrivacyMode::kCentral;
  if (name == "distributed") return PrivacyMode::kDistributed;
  return absl::InvalidArgumentError(absl::StrCat(
      "privacy.mode must be off, central or distributed, got '", std::string(name), "'"));
}

std::string_view PrivacyModeName(PrivacyMode mode) {
  switch (mode) {
    case PrivacyMode::kOff:
      return "off";
    case PrivacyMode::kCentral:
      return "central";
    case PrivacyMode::kDistributed:
      return "distributed";
  }
  return "off";
}

absl::Status PrivacySpec::Validate() const {
  if (!enabled()) return absl::OkStatus();
  auto positive = [](double v) { return std::isfinite(v) && v > 0.0; };
  if (!positive(noise_multiplier) || noise_multiplier > 1e6) {
    return absl::InvalidArgumentError(absl::StrCat(
        "privacy.noise_multiplier must be positive (and at most 1e6), got ", noise_multiplier));
  }
  if (!positive(clip_norm) || clip_norm > 1e6) {
    return absl::InvalidArgumentError(
        absl::StrCat("privacy.clip_norm must be positive (and at most 1e6), got ", clip_norm));
  }
  if (!(delta > 0.0 && delta < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("privacy.delta must be in (0, 1), got ", delta));
  }
  if (!(std::isfinite(target_epsilon) && target_epsilon >= 0.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("privacy.target_epsilon must be >= 0 (0: no limit), got ", target_epsilon));
  }
  if (adaptive_clipping) {
    if (!(target_quantile > 0.0 && target_quantile < 1.0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("privacy.target_quantile must be in (0, 1), got ", target_quantile));
    }
    if (!positive(clip_learning_rate) || clip_learning_rate > 10.0) {
      return absl::InvalidArgumentError(
          absl::StrCat("privacy.clip_learning_rate must be in (0, 10], got ", clip_learning_rate));
    }
    if (!(std::isfinite(count_noise_multiplier) && count_noise_multiplier >= 0.0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "privacy.count_noise_multiplier must be >= 0 (0: the paper's expected cohort / 20), "
          "got ",
          count_noise_multiplier));
    }
  }
  if (distributed_clients < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("privacy.distributed_clients must be >= 0 (0: the expected cohort), got ",
                     distributed_clients));
  }
  return absl::OkStatus();
}

}  // namespace tributary
