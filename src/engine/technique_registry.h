// The techniques a config enables, in hook order. Adding a technique: its file pair under
// engine/techniques/ and one line in technique_registry.cc (docs/architecture.md).
#ifndef TRIBUTARY_ENGINE_TECHNIQUE_REGISTRY_H_
#define TRIBUTARY_ENGINE_TECHNIQUE_REGISTRY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/experiment.h"
#include "engine/technique.h"
#include "tensor/model_state.h"

namespace tributary {

// Every technique `config` enables, for a model laid out like `global`.
absl::StatusOr<TechniqueSet> CreateTechniques(const ExperimentConfig& config,
                                              const ModelState& global);

// The registered techniques' names, in hook order.
std::vector<std::string> RegisteredTechniques();

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_TECHNIQUE_REGISTRY_H_
