#include "train/train_options.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace tributary {

absl::StatusOr<OptimizerKind> ParseOptimizerKind(const std::string& name) {
  if (name == "sgd") return OptimizerKind::kSgd;
  if (name == "adamw") return OptimizerKind::kAdamW;
  if (name == "zo_sgd") return OptimizerKind::kZerothOrder;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown optimizer '", name, "' (expected sgd, adamw or zo_sgd)"));
}

const char* OptimizerKindName(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd:
      return "sgd";
    case OptimizerKind::kAdamW:
      return "adamw";
    case OptimizerKind::kZerothOrder:
      return "zo_sgd";
  }
  return "?";
}

absl::Status TrainOptions::Validate() const {
  auto in_range = [](double v, double lo, double hi) {
    return std::isfinite(v) && v >= lo && v <= hi;
  };
  if (!in_range(learning_rate, 0.0, 1e3) || learning_rate == 0.0) {
    return absl::InvalidArgumentError(
        absl::StrCat("train.lr must be positive and finite, got ", learning_rate));
  }
  if (!in_range(momentum, 0.0, 0.9999)) {
    return absl::InvalidArgumentError(
        absl::StrCat("train.momentum must be in [0, 1), got ", momentum));
  }
  if (!in_range(weight_decay, 0.0, 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("train.weight_decay must be in [0, 1], got ", weight_decay));
  }
  if (!in_range(beta1, 0.0, 0.9999) || !in_range(beta2, 0.0, 0.99999)) {
    return absl::InvalidArgumentError("train.beta1 and train.beta2 must be in [0, 1)");
  }
  if (batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("train.batch_size must be at least 1, got ", batch_size));
  }
  if (!in_range(clip_norm, 0.0, 1e9)) {
    return absl::InvalidArgumentError(
        absl::StrCat("train.clip_norm must be >= 0 and finite, got ", clip_norm));
  }
  if (warmup_steps < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("train.warmup_steps must be >= 0, got ", warmup_steps));
  }
  if (decay_steps < 0 || (decay_steps > 0 && decay_steps <= warmup_steps)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "train.decay_steps must be 0 (no decay) or past the warm-up's train.warmup_steps = ",
        warmup_steps, ", got ", decay_steps));
  }
  if (!in_range(min_lr_ratio, 0.0, 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("train.min_lr_ratio must be in [0, 1], got ", min_lr_ratio));
  }
  if (steps < 0 || epochs < 0 || (steps == 0 && epochs == 0)) {
    return absl::InvalidArgumentError(
        "set train.epochs (passes over the local data) or train.steps (mini-batches) to a positive "
        "number");
  }
  if (!in_range(zo_eps, 0.0, 1.0) || zo_eps == 0.0) {
    return absl::InvalidArgumentError(absl::StrCat("train.zo_eps must be in (0, 1], got ", zo_eps));
  }
  if (optimizer == OptimizerKind::kZerothOrder &&
      (weight_decay != 0.0 || clip_norm != 0.0 || keep_optimizer_state || proximal_mu != 0.0)) {
    return absl::InvalidArgumentError(
        "train.optimizer = zo_sgd is plain zeroth-order SGD (two forward passes per step, no "
        "gradient): it has no weight decay, gradient clipping, kept optimizer state or FedProx "
        "term; leave train.weight_decay, train.clip_norm, train.keep_optimizer_state unset and "
        "use strategy fedavg");
  }
  return absl::OkStatus();
}

}  // namespace tributary
