// Strategy: how the server turns the clients' updates of one round into the next global model.
// Updates stream in through Accumulate() in any order; memory stays O(model) whatever the number
// of clients, except for strategies that by definition need every update at once (they say so).
//
// Thread-safety: a Strategy is not thread-safe; the round engine serializes calls.
#ifndef TRIBUTARY_AGGREGATE_STRATEGY_H_
#define TRIBUTARY_AGGREGATE_STRATEGY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/config_field.h"
#include "common/settings_bag.h"
#include "tensor/model_state.h"

namespace tributary {

struct ClientUpdate {
  uint32_t client_id = 0;
  const ModelState* delta = nullptr;  // client's trained model minus the round's global model
  int64_t num_examples = 0;           // its weight in the round's mean (strategy.weighting)
  // Coordinates the client actually sent (strictly increasing) for a sparse update; null for a
  // dense one. Used by mask-aware averaging.
  const std::vector<uint32_t>* sent = nullptr;
  // Client updates this one stands for: secure aggregation hands the round's unmasked sum as
  // one update, `delta` their mean and `num_examples` their total weight.
  int64_t summed = 1;
};

// How each accepted update weighs in a round's mean (strategy.weighting). kDefault resolves to
// the strategy's paper: uniform for SCAFFOLD, DiLoCo and FedAdagrad/FedAdam/FedYogi (Reddi et
// al.), the client's example count for the others (FedAvg, FedProx, FedAvgM).
enum class Weighting {
  kDefault,
  kExamples,  // the client's registered dataset size
  kUniform,   // every accepted client alike
  kTokens,    // the examples (text: windows of equal length) it trained on this round
};

// The [strategy] section: the name and the parameters several strategies share (see each
// strategy's header for the ones it reads); Validate() checks their ranges. A parameter of one
// strategy only lives in that strategy's own options struct, in `options` (e.g.
// options.Get<KrumOptions>()), with its key declared in the strategy's file.
struct StrategySpec {
  std::string name = "fedavg";   // one of RegisteredStrategies()
  double server_lr = 1.0;        // fedavgm, fedadam, fedyogi, fedadagrad, diloco
  double momentum = 0.9;         // fedavgm, diloco (Nesterov)
  double beta1 = 0.9;            // fedadam, fedyogi, fedadagrad
  double beta2 = 0.99;           // fedadam, fedyogi
  double tau = 1e-3;             // adaptivity floor of fedadam, fedyogi, fedadagrad
  bool bias_correction = false;  // fedadam: Adam's bias-corrected moments (fed_opt.h)
  // fedavgm, fedadam, fedyogi, fedadagrad: server_lr warms up linearly over the first
  // warmup_rounds rounds, then decays (cosine) to min_lr_ratio of itself at round decay_rounds
  // (0: no decay); with one-step SGD clients, data-parallel Adam's usual schedule.
  int warmup_rounds = 0;
  int decay_rounds = 0;
  double min_lr_ratio = 0.1;
  int byzantine = 2;  // krum, nearest-neighbour mixing: f, attackers tolerated
  // median, trimmed_mean, krum: first average random buckets of this many updates, then apply
  // the robust rule to the bucket means (Karimireddy et al. 2022); 1: off.
  int bucket_size = 1;
  // median, trimmed_mean, krum: first replace each update by the mean of its n - f nearest
  // updates, f = `byzantine` (Allouah et al. 2023); exclusive with bucketing.
  bool nearest_neighbor_mixing = false;
  // FedAvg family: average each coordinate over the clients that sent it (OPWA) instead of
  // over all clients; matters for sparse (top-k) updates whose masks rarely overlap.
  bool mask_aware = false;
  Weighting weighting = Weighting::kDefault;
  SettingsBag options;  // the options structs of single strategies

  absl::Status Validate() const;
  // `weighting`, with kDefault resolved for `name`.
  Weighting ResolvedWeighting() const;
};

// The keys of the shared [strategy] parameters above.
std::vector<ConfigField<StrategySpec>> StrategySpecFields();

class Strategy {
 public:
  virtual ~Strategy() = default;

  // Starts a round from `global`. `expected_examples` is the total number of examples of the
  // clients selected for the round (known from their registration before any result arrives).
  virtual absl::Status Init(const ModelState& global, int64_t expected_examples) = 0;

  // Folds one client's update in. On error the update is not aggregated (the round goes on).
  virtual absl::Status Accumulate(const ClientUpdate& update) = 0;

  // The next global model; ends the round (Init() starts the next). Fails when no update was
  // accepted.
  virtual absl::StatusOr<ModelState> Finalize() = 0;

  // Buffers the strategy carries from round to round (server optimizer moments), for
  // checkpoints: saved after a round, restored (resized) before the next Init().
  virtual std::vector<std::vector<float>*> carried_state() { return {}; }
};

// The checks every strategy makes on an update before using it: the global model's layout and
// an example count in [1, expected_examples].
absl::Status CheckClientUpdate(const ClientUpdate& update, const ModelState& global,
                               int64_t expected_examples);
// Fails when the update holds a NaN or infinity (strategies whose statistics are not the exact
// sum, which checks this itself).
absl::Status CheckFinite(const ClientUpdate& update);

}  // namespace tributary

#endif  // TRIBUTARY_AGGREGATE_STRATEGY_H_
