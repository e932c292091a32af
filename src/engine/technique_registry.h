// The registered techniques, in hook order, with the config keys each owns. Adding a technique:
// its file pair under engine/techniques/ and one line in technique_registry.cc
// (docs/architecture.md).
#ifndef TRIBUTARY_ENGINE_TECHNIQUE_REGISTRY_H_
#define TRIBUTARY_ENGINE_TECHNIQUE_REGISTRY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config_field.h"
#include "engine/experiment.h"
#include "engine/technique.h"
#include "tensor/model_state.h"

namespace tributary {

// Every technique `config` enables, for a model laid out like `global`.
absl::StatusOr<TechniqueSet> CreateTechniques(const ExperimentConfig& config,
                                              const ModelState& global);

// The registered techniques' names, in hook order.
std::vector<std::string> RegisteredTechniques();

// The config keys the techniques own (their sections live in ExperimentConfig::plugins).
std::vector<ConfigField<ExperimentConfig>> TechniqueConfigFields();

// Each technique's check of its own keys against the rest of the config.
absl::Status ValidateTechniques(const ExperimentConfig& config);

// The cohort sampling an enabled technique needs when run.sampling is auto (Poisson for
// differential privacy's accounting); nullopt when none asks.
std::optional<ClientSampling> TechniqueSampling(const ExperimentConfig& config);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_TECHNIQUE_REGISTRY_H_
