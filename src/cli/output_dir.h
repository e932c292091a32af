// The folder a run writes its results to (config.toml, metrics.jsonl, model.pt, ...).
#ifndef TRIBUTARY_CLI_OUTPUT_DIR_H_
#define TRIBUTARY_CLI_OUTPUT_DIR_H_

#include <string>

#include "absl/status/status.h"

namespace tributary {

// Creates `dir`; refuses to mix a new run into a folder that already holds one, unless asked to.
absl::Status PrepareOutputDir(const std::string& dir, bool overwrite);

}  // namespace tributary

#endif  // TRIBUTARY_CLI_OUTPUT_DIR_H_
