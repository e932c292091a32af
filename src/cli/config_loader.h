// Reads an ExperimentConfig from TOML, with `key=value` overrides from the command line.
// Unknown keys, wrong types and missing required keys are errors that name the key.
#ifndef TRIBUTARY_CLI_CONFIG_LOADER_H_
#define TRIBUTARY_CLI_CONFIG_LOADER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/experiment.h"

namespace tributary {

struct LoadedConfig {
  ExperimentConfig config;
  std::string resolved_toml;  // every key, defaults filled in: written next to the results
};

// `source` names the text in error messages (usually its path). Overrides look like
// "train.lr=0.1" or "data.partition=dirichlet"; values are TOML, and bare words are strings.
absl::StatusOr<LoadedConfig> ParseExperimentConfig(std::string_view toml_text,
                                                   std::string_view source,
                                                   const std::vector<std::string>& overrides);
absl::StatusOr<LoadedConfig> LoadExperimentConfig(const std::string& path,
                                                  const std::vector<std::string>& overrides);

// Every config key with its type, default and meaning, for --help.
std::string ConfigReference();

}  // namespace tributary

#endif  // TRIBUTARY_CLI_CONFIG_LOADER_H_
