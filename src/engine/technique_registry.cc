#include "engine/technique_registry.h"

#include "common/status_util.h"
#include "engine/secure_aggregation.h"
#include "engine/techniques/bandwidth_aware.h"
#include "engine/techniques/byzantine_attack.h"
#include "engine/techniques/deep_gradient_compression.h"
#include "engine/techniques/differential_privacy.h"
#include "engine/techniques/hetero_fl.h"
#include "engine/techniques/local_layers_technique.h"
#include "engine/techniques/proximal_term.h"
#include "engine/techniques/scaffold_control.h"
#include "engine/techniques/sketch_aggregation.h"
#include "engine/techniques/streaming_fragments.h"

namespace tributary {
namespace {

struct Registration {
  const char* name;
  // Returns null when the config does not enable the technique. Null for a section that is no
  // technique object (secure aggregation runs in the round engine and its channels).
  absl::StatusOr<std::unique_ptr<Technique>> (*create)(const ExperimentConfig&, const ModelState&);
  // The keys of its own section (stored in ExperimentConfig::plugins); null: none.
  std::vector<ConfigField<ExperimentConfig>> (*fields)() = nullptr;
  // Checks them against the rest of the config; null: nothing to check.
  absl::Status (*validate)(const ExperimentConfig&) = nullptr;
  // The sampling it needs under run.sampling = auto; null or nullopt: no preference.
  std::optional<ClientSampling> (*sampling)(const ExperimentConfig&) = nullptr;
};

// Hook order: an attack replaces the whole trained update before local layers split it (or
// Streaming DiLoCo takes one fragment of it); Deep Gradient Compression's clipping and momentum
// then shape what is left to upload, and differential privacy clips (and noises) it.
constexpr Registration kTechniques[] = {
    {"fedprox", CreateProximalTerm, ProximalTermFields, ValidateProximalTerm},
    {"scaffold", CreateScaffoldControl},
    {"heterofl", CreateHeteroFl, HeteroFlFields, ValidateHeteroFl},
    {"attack", CreateByzantineAttack, ByzantineAttackFields, ValidateByzantineAttack},
    {"local_layers", CreateLocalLayers, LocalLayersFields, ValidateLocalLayers},
    {"streaming", CreateStreaming, StreamingFields, ValidateStreaming},
    {"dgc", CreateDgc, DgcFields, ValidateDgc},
    {"dp", CreateDifferentialPrivacy, PrivacyFields, ValidateDifferentialPrivacy, PrivacySampling},
    {"bandwidth_aware", CreateBandwidthAware, BandwidthAwareFields},
    {"sketch", CreateSketchAggregation},
    {"secagg", nullptr, SecAggFields, ValidateSecureAggregation},
};

}  // namespace

absl::StatusOr<TechniqueSet> CreateTechniques(const ExperimentConfig& config,
                                              const ModelState& global) {
  TechniqueSet techniques;
  for (const Registration& r : kTechniques) {
    if (r.create == nullptr) continue;
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

std::vector<ConfigField<ExperimentConfig>> TechniqueConfigFields() {
  std::vector<ConfigField<ExperimentConfig>> fields;
  for (const Registration& r : kTechniques) {
    if (r.fields == nullptr) continue;
    for (ConfigField<ExperimentConfig>& f : r.fields()) fields.push_back(std::move(f));
  }
  return fields;
}

absl::Status ValidateTechniques(const ExperimentConfig& config) {
  for (const Registration& r : kTechniques) {
    if (r.validate != nullptr) TRIB_RETURN_IF_ERROR(r.validate(config));
  }
  return absl::OkStatus();
}

std::optional<ClientSampling> TechniqueSampling(const ExperimentConfig& config) {
  for (const Registration& r : kTechniques) {
    if (r.sampling == nullptr) continue;
    if (std::optional<ClientSampling> wanted = r.sampling(config)) return wanted;
  }
  return std::nullopt;
}

}  // namespace tributary
