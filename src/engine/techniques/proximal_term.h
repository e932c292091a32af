// FedProx's client side (Li et al. 2020; strategy.name = fedprox, whose aggregation is FedAvg's):
// each client adds mu / 2 * ||w - w_global||^2 to its local loss (strategy.mu), which keeps
// heterogeneous clients from drifting far from the global model. The local trainer applies the
// term (TrainOptions::proximal_mu).
#ifndef TRIBUTARY_ENGINE_TECHNIQUES_PROXIMAL_TERM_H_
#define TRIBUTARY_ENGINE_TECHNIQUES_PROXIMAL_TERM_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config_field.h"
#include "engine/experiment.h"
#include "engine/technique.h"

namespace tributary {

// strategy.mu, owned by this technique.
struct ProximalTermOptions {
  double mu = 0.01;
};
std::vector<ConfigField<ExperimentConfig>> ProximalTermFields();
absl::Status ValidateProximalTerm(const ExperimentConfig& config);

absl::StatusOr<std::unique_ptr<Technique>> CreateProximalTerm(const ExperimentConfig& config,
                                                              const ModelState& global);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_TECHNIQUES_PROXIMAL_TERM_H_
