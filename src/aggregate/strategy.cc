#include "aggregate/strategy.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace tributary {
namespace {

bool IsRobustRule(const std::string& name) {
  return name == "median" || name == "trimmed_mean" || name == "krum";
}

}  // namespace

absl::Status CheckClientUpdate(const ClientUpdate& update, const ModelState& global,
                               int64_t expected_examples) {
  if (update.delta == nullptr || !update.delta->SameLayout(global)) {
    return absl::InvalidArgumentError(
        absl::StrCat("client ", update.client_id, ": update layout differs from the global model"));
  }
  if (update.num_examples <= 0 || update.num_examples > expected_examples) {
    return absl::InvalidArgumentError(absl::StrCat("client ", update.client_id, ": example count ",
                                                   update.num_examples, " outside [1, ",
                                                   expected_examples, "]"));
  }
  return absl::OkStatus();
}

absl::Status CheckFinite(const ClientUpdate& update) {
  if (update.delta == nullptr || !AllFinite(update.delta->flat())) {
    return absl::InvalidArgumentError(
        absl::StrCat("client ", update.client_id, ": update holds a non-finite value"));
  }
  return absl::OkStatus();
}

absl::Status StrategySpec::Validate() const {
  const auto in = [](double v, double lo, double hi) {
    return std::isfinite(v) && v >= lo && v <= hi;
  };
  if (!in(server_lr, 0.0, 1e3) || server_lr == 0.0) {
    return absl::InvalidArgumentError("strategy.server_lr must be in (0, 1000]");
  }
  if (!in(momentum, 0.0, 0.9999) || !in(beta1, 0.0, 0.9999) || !in(beta2, 0.0, 0.9999999)) {
    return absl::InvalidArgumentError("strategy.momentum, beta1 and beta2 must be in [0, 1)");
  }
  if (!in(tau, 1e-12, 1e3))
    return absl::InvalidArgumentError("strategy.tau must be in [1e-12, 1000]");
  if (!in(proximal_mu, 0.0, 1e6)) return absl::InvalidArgumentError("strategy.mu must be >= 0");
  if (!in(trim_ratio, 0.0, 0.4999)) {
    return absl::InvalidArgumentError("strategy.trim_ratio must be in [0, 0.5)");
  }
  if (bucket_size < 1 || bucket_size > 1000) {
    return absl::InvalidArgumentError("strategy.bucket_size must be in [1, 1000]");
  }
  if ((bucket_size > 1 || nearest_neighbor_mixing) && !IsRobustRule(name)) {
    return absl::InvalidArgumentError(
        "strategy.bucket_size and strategy.nearest_neighbor_mixing apply to median, trimmed_mean "
        "and krum only");
  }
  if (bucket_size > 1 && nearest_neighbor_mixing) {
    return absl::InvalidArgumentError(
        "strategy.bucket_size and strategy.nearest_neighbor_mixing are alternatives; set one");
  }
  if (byzantine < 0 || krum_select < 1) {
    return absl::InvalidArgumentError("strategy.byzantine must be >= 0, strategy.krum_select >= 1");
  }
  if (!in(norm_bound, 0.0, 1e9) || norm_bound == 0.0) {
    return absl::InvalidArgumentError("strategy.norm_bound must be positive");
  }
  return absl::OkStatus();
}

}  // namespace tributary
