// Every key an experiment config may hold: those of ExperimentConfig's own sections, of the
// registered strategies ([strategy]) and of the registered techniques, each declared where the
// struct holding it is. The TOML reader (cli/config_loader.cc) and --help use this list.
#ifndef TRIBUTARY_ENGINE_EXPERIMENT_FIELDS_H_
#define TRIBUTARY_ENGINE_EXPERIMENT_FIELDS_H_

#include <string_view>
#include <vector>

#include "common/config_field.h"
#include "engine/experiment.h"

namespace tributary {

using ExperimentField = ConfigField<ExperimentConfig>;

// Grouped by section, in help order; keys are unique.
const std::vector<ExperimentField>& ExperimentFields();
// The field of `key` ("section.name"), or null.
const ExperimentField* FindExperimentField(std::string_view key);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_EXPERIMENT_FIELDS_H_
