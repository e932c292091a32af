#include "aggregate/strategy.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace tributary {
namespace {

bool IsRobustRule(const std::string& name) {
  return name == "median" || name == "trimmed_mean" || name == "krum";
}

absl::StatusOr<Weighting> ParseWeighting(const std::string& text) {
  if (text == "default") return Weighting::kDefault;
  if (text == "examples") return Weighting::kExamples;
  if (text == "uniform") return Weighting::kUniform;
  if (text == "tokens") return Weighting::kTokens;
  return absl::InvalidArgumentError(
      absl::StrCat("strategy.weighting '", text, "': one of default, examples, uniform, tokens"));
}

std::string WeightingName(Weighting weighting) {
  switch (weighting) {
    case Weighting::kDefault:
      return "default";
    case Weighting::kExamples:
      return "examples";
    case Weighting::kUniform:
      return "uniform";
    case Weighting::kTokens:
      return "tokens";
  }
  return "default";
}

}  // namespace

Weighting StrategySpec::ResolvedWeighting() const {
  if (weighting != Weighting::kDefault) return weighting;
  for (const char* uniform : {"scaffold", "diloco", "fedadagrad", "fedadam", "fedyogi"}) {
    if (name == uniform) return Weighting::kUniform;
  }
  return Weighting::kExamples;
}

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
  if (byzantine < 0) return absl::InvalidArgumentError("strategy.byzantine must be >= 0");
  if (warmup_rounds < 0 || decay_rounds < 0 ||
      (decay_rounds > 0 && decay_rounds <= warmup_rounds)) {
    return absl::InvalidArgumentError(
        "strategy.warmup_rounds must be >= 0 and strategy.decay_rounds 0 (no decay) or past the "
        "warm-up");
  }
  if (!in(min_lr_ratio, 0.0, 1.0)) {
    return absl::InvalidArgumentError("strategy.min_lr_ratio must be in [0, 1]");
  }
  const bool server_optimizer =
      name == "fedavgm" || name == "fedadam" || name == "fedyogi" || name == "fedadagrad";
  if ((warmup_rounds > 0 || decay_rounds > 0) && !server_optimizer) {
    return absl::InvalidArgumentError(
        "strategy.warmup_rounds and strategy.decay_rounds schedule the server learning rate of "
        "fedavgm, fedadam, fedyogi and fedadagrad only, not strategy " +
        name);
  }
  return absl::OkStatus();
}

std::vector<ConfigField<StrategySpec>> StrategySpecFields() {
  using S = StrategySpec;
  return {
      StringField<S>("strategy.name",
                     "aggregation: fedavg fedprox fedavgm fedadagrad fedadam fedyogi diloco "
                     "scaffold median trimmed_mean krum norm_bounding lora_exact",
                     [](S& s) -> std::string& { return s.name; }),
      FloatField<S>("strategy.server_lr", "server learning rate (fedavgm, fedad*, fedyogi, diloco)",
                    [](S& s) -> double& { return s.server_lr; }),
      FloatField<S>("strategy.momentum", "server momentum (fedavgm; Nesterov for diloco)",
                    [](S& s) -> double& { return s.momentum; }),
      FloatField<S>("strategy.beta1", "first-moment decay (fedadagrad, fedadam, fedyogi)",
                    [](S& s) -> double& { return s.beta1; }),
      FloatField<S>("strategy.beta2", "second-moment decay (fedadam, fedyogi)",
                    [](S& s) -> double& { return s.beta2; }),
      FloatField<S>("strategy.tau", "adaptivity floor (fedadagrad, fedadam, fedyogi)",
                    [](S& s) -> double& { return s.tau; }),
      BoolField<S>("strategy.bias_correction",
                   "fedadam: Adam's bias-corrected moments (with 1-step SGD clients: "
                   "data-parallel Adam)",
                   [](S& s) -> bool& { return s.bias_correction; }),
      IntegerField<S>(
          "strategy.warmup_rounds",
          "server_lr rises linearly over the first N rounds (fedavgm, fedad*, fedyogi)",
          [](S& s) -> int& { return s.warmup_rounds; }, 0, 100000000),
      IntegerField<S>(
          "strategy.decay_rounds",
          "server_lr decays (cosine) from the end of the warmup to strategy.min_lr_ratio of "
          "itself at round N (0: none)",
          [](S& s) -> int& { return s.decay_rounds; }, 0, 100000000),
      FloatField<S>("strategy.min_lr_ratio",
                    "floor of strategy.decay_rounds' cosine, times server_lr",
                    [](S& s) -> double& { return s.min_lr_ratio; }),
      IntegerField<S>(
          "strategy.byzantine", "attackers Krum and nearest-neighbour mixing tolerate (f)",
          [](S& s) -> int& { return s.byzantine; }, 0, 100000),
      IntegerField<S>(
          "strategy.bucket_size",
          "median, trimmed_mean, krum: average random buckets of this many updates first (1: "
          "off)",
          [](S& s) -> int& { return s.bucket_size; }, 1, 1000),
      BoolField<S>("strategy.nearest_neighbor_mixing",
                   "median, trimmed_mean, krum: mix each update with its n - f nearest first "
                   "(NNM)",
                   [](S& s) -> bool& { return s.nearest_neighbor_mixing; }),
      BoolField<S>("strategy.mask_aware",
                   "average each coordinate over the clients that sent it (OPWA; sparse uplinks)",
                   [](S& s) -> bool& { return s.mask_aware; }),
      EnumField<S>(
          "strategy.weighting",
          "each accepted update's weight in the mean: examples (its dataset size), uniform, "
          "tokens (examples or text windows trained this round: a global-batch mean); default: "
          "the strategy's paper (uniform for scaffold, diloco, fedadagrad, fedadam, fedyogi; "
          "examples otherwise)",
          [](S& s) -> Weighting& { return s.weighting; }, ParseWeighting, WeightingName),
  };
}

}  // namespace tributary
