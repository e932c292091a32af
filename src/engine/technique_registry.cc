#include "engine/technique_registry.h"

#include "common/status_util.h"
#include "engine/techniques/bandwidth_aware.h"
#include "engine/techniques/byzantine_attack.h"
#include "engine/techniques/differential_privacy.h"
#include "engine/techniques/hetero_fl.h"
#include "engine/techniques/local_layers_technique.h"
#include "engine/techniques/proximal_term.h"
#include "engine/techniques/scaffold_control.h"
#include "engine/techniques/sketch_aggregation.h"

namespace tributary {
namespace {

// Each factory returns null when the config does not enable its technique.
struct Registration {
  const char* name;
  absl::StatusOr<std::unique_ptr<Technique>> (*create)(const ExperimentConfig&, const ModelState&);
};

// Hook order: an attack replaces the whole trained update before local layers split it, and
// differential privacy clips (and noises) what is left to upload.
constexpr Registration kTechniques[] = {
    {"fedprox", CreateProximalTerm},
    {"scaffold", CreateScaffoldControl},
    {"heterofl", CreateHeteroFl},
    {"attack", CreateByzantineAttack},
    {"local_layers", CreateLocalLayers},
    {"dp", CreateDifferentialPrivacy},
    {"bandwidth_aware", CreateBandwidthAware},
    {"sketch", CreateSketchAggregation},
};

}  // namespace

absl::StatusOr<TechniqueSet> CreateTechniques(const ExperimentConfig& config,
                                              const ModelState& global) {
  TechniqueSet techniques;
  for (const Registration& r : kTechniques) {
    TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Technique> technique, r.create(config, global));
    if (technique) techniques.push_back(std::move(technique));
  }
  return techniques;
}

std::vector<std::string> RegisteredTechniques() {
  std::vector<std::string> names;
  for (const Registration& r : kTechniques) names.push_back(r.name);
  return names;
}

}  // namespace tributary
