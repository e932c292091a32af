// How a client trains locally in one round.
#ifndef TRIBUTARY_TRAIN_TRAIN_OPTIONS_H_
#define TRIBUTARY_TRAIN_TRAIN_OPTIONS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/learning_rate_schedule.h"

namespace tributary {

// kZerothOrder ("zo_sgd"): MeZO-style zeroth-order SGD along seeded directions, for
// model.seed_pool models only (train/local_trainer.cc).
enum class OptimizerKind { kSgd, kAdamW, kZerothOrder };

absl::StatusOr<OptimizerKind> ParseOptimizerKind(const std::string& name);
const char* OptimizerKindName(OptimizerKind kind);

struct TrainOptions {
  OptimizerKind optimizer = OptimizerKind::kSgd;
  double learning_rate = 0.05;
  double momentum = 0.9;  // SGD
  double weight_decay = 0.0;
  double beta1 = 0.9;    // AdamW
  double beta2 = 0.999;  // AdamW
  int batch_size = 32;
  // Local work per round: `steps` mini-batch steps when positive, else `epochs` passes.
  int epochs = 1;
  int steps = 0;
  // Clip the gradient to this global L2 norm before each step; 0: off.
  double clip_norm = 0.0;
  // Learning rate rises linearly over a client's first warmup_steps optimizer steps (counted
  // across rounds when the optimizer state is kept); 0: off.
  int warmup_steps = 0;
  // Then a cosine decay to min_lr_ratio of the peak at the client's step decay_steps (counted
  // like warmup_steps); 0: the rate stays at its peak.
  int decay_steps = 0;
  double min_lr_ratio = 0.1;
  // Keep each client's optimizer state (moments, step count) from round to round.
  bool keep_optimizer_state = false;
  // zo_sgd: the perturbation scale eps of the two-sided difference (L(W + eps z) -
  // L(W - eps z)) / (2 eps) along a seeded direction z.
  double zo_eps = 1e-3;
  // FedProx: adds mu / 2 * ||w - w_start||^2 to the loss (set by the strategy, not the config).
  double proximal_mu = 0.0;

  absl::Status Validate() const;
  LearningRateSchedule schedule() const {
    return {.warmup = warmup_steps, .decay_until = decay_steps, .min_ratio = min_lr_ratio};
  }
};

}  // namespace tributary

#endif  // TRIBUTARY_TRAIN_TRAIN_OPTIONS_H_
