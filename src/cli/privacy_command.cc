// tributary privacy: the accountant of privacy/rdp_accountant.h from the command line, for
// planning a run before it spends anything.
#include <cmath>
#include <cstdio>
#include <optional>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/config_loader.h"
#include "cli/exit_code.h"
#include "common/status_util.h"
#include "privacy/privacy_spec.h"
#include "privacy/rdp_accountant.h"

namespace tributary {
namespace {

absl::Status Account(PrivacyCommandOptions o) {
  if (!o.config_path.empty()) {  // the run's own figures, unless a flag says otherwise
    TRIB_ASSIGN_OR_RETURN(LoadedConfig loaded, LoadExperimentConfig(o.config_path, o.overrides));
    const ExperimentConfig& c = loaded.config;
    if (!o.sampling_rate) o.sampling_rate = c.SamplingRate();
    if (!o.rounds) o.rounds = c.run.rounds;
    if (!o.delta) o.delta = c.plugins.Get<PrivacySpec>().delta;
    if (!o.noise_multiplier && !o.target_epsilon && c.plugins.Get<PrivacySpec>().enabled()) {
      o.noise_multiplier = c.plugins.Get<PrivacySpec>().noise_multiplier;
    }
  }
  if (!o.sampling_rate || !(*o.sampling_rate > 0.0 && *o.sampling_rate <= 1.0)) {
    return absl::InvalidArgumentError("--sampling-rate must be given, in (0, 1]");
  }
  if (!o.rounds || *o.rounds < 1 || *o.rounds > 1000000000) {
    return absl::InvalidArgumentError("--rounds must be given, in [1, 1e9]");
  }
  const double delta = o.delta.value_or(1e-5);
  if (!(delta > 0.0 && delta < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("--delta must be in (0, 1), got ", delta));
  }
  if (o.noise_multiplier.has_value() == o.target_epsilon.has_value()) {
    return absl::InvalidArgumentError(
        "give exactly one of --noise-multiplier (to get epsilon) and --target-epsilon (to get "
        "the noise multiplier)");
  }
  const double q = *o.sampling_rate;
  const int64_t rounds = *o.rounds;
  if (o.noise_multiplier) {
    const double z = *o.noise_multiplier;
    if (!(std::isfinite(z) && z > 0.0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--noise-multiplier must be positive, got ", z));
    }
    const PrivacySpent spent = EpsilonFor(q, z, rounds, delta);
    std::printf(
        "epsilon %.6g at delta %g after %lld rounds (q %g, noise multiplier %g; RDP order "
        "%g)\n",
        spent.epsilon, delta, static_cast<long long>(rounds), q, z, spent.order);
    return absl::OkStatus();
  }
  const double target = *o.target_epsilon;
  if (!(std::isfinite(target) && target > 0.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--target-epsilon must be positive, got ", target));
  }
  TRIB_ASSIGN_OR_RETURN(const double z, NoiseMultiplierFor(q, rounds, delta, target));
  const PrivacySpent spent = EpsilonFor(q, z, rounds, delta);
  std::printf("noise multiplier %.6g: epsilon %.6g at delta %g after %lld rounds (q %g)\n", z,
              spent.epsilon, delta, static_cast<long long>(rounds), q);
  return absl::OkStatus();
}

}  // namespace

int RunPrivacyCommand(const PrivacyCommandOptions& options) {
  absl::Status status = Account(options);
  return status.ok() ? 0 : Fail(status);
}

}  // namespace tributary
