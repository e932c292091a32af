// Partial personalization (strategy.local_layers): the tensors named by the configured prefixes
// stay on each client (engine/local_layers.h maps them). A client trains from the public model
// with its own local layers in place (their initial values until it first trains), keeps them as
// trained, and uploads only the shared part; the server decodes that part into the full layout
// with zeros where the local layers are. A client evaluates with its own local layers.
#ifndef TRIBUTARY_ENGINE_TECHNIQUES_LOCAL_LAYERS_TECHNIQUE_H_
#define TRIBUTARY_ENGINE_TECHNIQUES_LOCAL_LAYERS_TECHNIQUE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config_field.h"
#include "engine/experiment.h"
#include "engine/technique.h"

namespace tributary {

// strategy.local_layers, owned by this technique.
struct LocalLayersOptions {
  std::string prefixes;  // comma-separated tensor name prefixes kept on each client
};
std::vector<ConfigField<ExperimentConfig>> LocalLayersFields();
absl::Status ValidateLocalLayers(const ExperimentConfig& config);

absl::StatusOr<std::unique_ptr<Technique>> CreateLocalLayers(const ExperimentConfig& config,
                                                             const ModelState& global);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_TECHNIQUES_LOCAL_LAYERS_TECHNIQUE_H_
