// Byzantine clients (the [attack] section, sim/byzantine.h): a seeded fraction of the federation
// replaces its honest update with an attack after training, before anything else touches it.
// The same client misbehaves whether it is a virtual client or a `tributary client` process, so
// the robust strategies are tested over the network as in simulation; the server counts the
// cohort's attackers in the metrics (byzantine_clients).
#ifndef TRIBUTARY_ENGINE_TECHNIQUES_BYZANTINE_ATTACK_H_
#define TRIBUTARY_ENGINE_TECHNIQUES_BYZANTINE_ATTACK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config_field.h"
#include "engine/experiment.h"
#include "engine/technique.h"

namespace tributary {

// The [attack] keys (stored as an AttackSpec).
std::vector<ConfigField<ExperimentConfig>> ByzantineAttackFields();
absl::Status ValidateByzantineAttack(const ExperimentConfig& config);

absl::StatusOr<std::unique_ptr<Technique>> CreateByzantineAttack(const ExperimentConfig& config,
                                                                 const ModelState& global);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_TECHNIQUES_BYZANTINE_ATTACK_H_
