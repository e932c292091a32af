// The tributary subcommands. Each returns the process exit code: 0 success, 1 runtime failure,
// 2 bad input (config, flags, data); errors are printed to stderr.
#ifndef TRIBUTARY_CLI_COMMANDS_H_
#define TRIBUTARY_CLI_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/live_dashboard.h"
#include "deploy/coordinator.h"
#include "deploy/credentials.h"
#include "deploy/server_limits.h"

namespace tributary {

struct SimulateOptions {
  std::string config_path;
  std::vector<std::string> overrides;  // "key=value"
  std::string out_dir;                 // empty: runs/<run.name>
  bool overwrite = false;
  bool resume = false;        // continue the run in out_dir from its checkpoint
  int checkpoint_every = -1;  // rounds between checkpoints; 0: none; -1: every 5 minutes
  std::string replay;         // a recorded run's metrics.jsonl; empty: sample as usual
  DashboardFlags dashboard;
};
int RunSimulateCommand(const SimulateOptions& options);

struct PartitionCommandOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  int max_rows = 20;  // clients listed; the summary covers all
};
int RunPartitionCommand(const PartitionCommandOptions& options);

struct ServerCommandOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string out_dir;  // empty: runs/<run.name>
  bool overwrite = false;
  bool resume = false;  // continue from out_dir/checkpoint.bin
  std::string listen;   // empty: ListenAddress()'s default
  std::string tokens_path;
  ServerTlsOptions tls;
  CoordinatorOptions coordinator;
  ServerLimits limits;
  std::string metrics_listen;  // HOST:PORT for /metrics; empty: off
  DashboardFlags dashboard;
};
int RunServerCommand(const ServerCommandOptions& options);

struct ClientCommandOptions {
  std::string server;  // HOST:PORT
  uint32_t client_id = 0;
  bool has_client_id = false;  // --client-id was given
  std::string client_ids;      // or: many clients in this process, "0-999" or "0-9,20"
  std::string token;           // or token_file
  std::string token_file;      // keeps the token out of the process list
  std::string data_config_path;
  std::vector<std::string> overrides;  // applied to the data config
  ClientTlsOptions tls;
  double uplink_mbps = 0.0;
  double downlink_mbps = 0.0;
  double give_up_seconds = 300.0;
  bool chaos_secagg_dropout = false;
};
int RunClientCommand(const ClientCommandOptions& options);

struct GenerateCommandOptions {
  std::string model_path;   // a gpt run's model.pt
  std::string config_path;  // empty: config.toml beside the model
  std::string prompt;
  int tokens = 100;
  double temperature = 0.8;
  int top_k = 40;
  uint64_t seed = 0;
};
int RunGenerateCommand(const GenerateCommandOptions& options);

// Either epsilon for a noise multiplier or the noise multiplier for a target epsilon; unset
// figures come from the config when one is given.
struct PrivacyCommandOptions {
  std::string config_path;  // optional: q, rounds, delta and z of this run
  std::vector<std::string> overrides;
  std::optional<double> sampling_rate;
  std::optional<int64_t> rounds;
  std::optional<double> delta;
  std::optional<double> noise_multiplier;
  std::optional<double> target_epsilon;
};
int RunPrivacyCommand(const PrivacyCommandOptions& options);

struct NoiseScaleCommandOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  int64_t small_batch = 0;  // 0: train.batch_size
  int64_t big_batch = 0;    // 0: 16 x the small batch
  int draws = 20;
  uint64_t seed = 1;
};
int RunNoiseScaleCommand(const NoiseScaleCommandOptions& options);

struct PlotCommandOptions {
  std::vector<std::string> runs;    // run folders or metrics.jsonl files
  std::vector<std::string> labels;  // legend entries; empty: the runs' folder names
  std::string x = "round";
  std::string y = "test_accuracy";
  std::string out;  // .svg, .png or .pdf
  std::string title;
  bool log_x = false;
  bool log_y = false;
  int width = 800;
  int height = 500;
};
int RunPlotCommand(const PlotCommandOptions& options);

struct DashboardCommandOptions {
  std::vector<std::string> roots = {"runs"};  // run folders, or folders that hold runs
  DashboardFlags flags = {.listen = "127.0.0.1:8050"};
};
int RunDashboardCommand(const DashboardCommandOptions& options);

}  // namespace tributary

#endif  // TRIBUTARY_CLI_COMMANDS_H_
