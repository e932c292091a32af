// The tributary subcommands. Each returns the process exit code: 0 success, 1 runtime failure,
// 2 bad input (config, flags, data); errors are printed to stderr.
#ifndef TRIBUTARY_CLI_COMMANDS_H_
#define TRIBUTARY_CLI_COMMANDS_H_

#include <string>
#include <vector>

namespace tributary {

struct SimulateOptions {
  std::string config_path;
  std::vector<std::string> overrides;  // "key=value"
  std::string out_dir;                 // empty: runs/<run.name>
  bool overwrite = false;
};
int RunSimulateCommand(const SimulateOptions& options);

struct PartitionCommandOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  int max_rows = 20;  // clients listed; the summary covers all
};
int RunPartitionCommand(const PartitionCommandOptions& options);

}  // namespace tributary

#endif  // TRIBUTARY_CLI_COMMANDS_H_
