#include <chrono>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/config_loader.h"
#include "cli/exit_code.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/status_line.h"
#include "common/status_util.h"
#include "deploy/federated_client.h"

namespace tributary {
namespace {

absl::Status RunClient(const ClientCommandOptions& options) {
  FederatedClientOptions client;
  client.server_address = options.server;
  client.client_id = options.client_id;
  client.tls = options.tls;
  client.uplink_mbps = options.uplink_mbps;
  client.downlink_mbps = options.downlink_mbps;
  client.give_up_seconds = options.give_up_seconds;
  client.chaos_secagg_dropout = options.chaos_secagg_dropout;
  if (options.token.empty() == options.token_file.empty()) {
    return absl::InvalidArgumentError("give exactly one of --token and --token-file");
  }
  if (!options.token_file.empty()) {
    TRIB_ASSIGN_OR_RETURN(std::string token, ReadFile(options.token_file));
    client.token = std::string(absl::StripAsciiWhitespace(token));
  } else {
    client.token = options.token;
  }
  TRIB_ASSIGN_OR_RETURN(LoadedConfig local,
                        LoadExperimentConfig(options.data_config_path, options.overrides));
  client.data_config = local.config;
  // Training, model and codecs are the server's; the data (and the seed that partitions it)
  // are this client's own.
  client.resolve_config = [](const std::string& server_toml) -> absl::StatusOr<ExperimentConfig> {
    TRIB_ASSIGN_OR_RETURN(LoadedConfig server, ParseExperimentConfig(server_toml, "server", {}));
    return server.config;
  };
  LogInfo("tributary client %u: server %s (%s), data %s", options.client_id, options.server.c_str(),
          options.tls.insecure ? "plain text" : "TLS", options.data_config_path.c_str());
  // On a terminal: one line rewritten in place, at most ten times a second within a phase.
  if (StatusLineEnabled()) {
    client.on_progress = [last_phase = ClientPhase::kWaiting, last_round = -1,
                          last_shown = std::chrono::steady_clock::time_point{}](
                             const ClientProgress& progress) mutable {
      const auto now = std::chrono::steady_clock::now();
      if (progress.phase == last_phase && progress.round == last_round &&
          now - last_shown < std::chrono::milliseconds(100)) {
        return;
      }
      last_phase = progress.phase;
      last_round = progress.round;
      last_shown = now;
      ShowStatusLine(FormatClientProgress(progress));
    };
  }
  FederatedClient federated(std::move(client));
  absl::Status status = federated.Run();
  ClearStatusLine();
  return status;
}

}  // namespace

int RunClientCommand(const ClientCommandOptions& options) {
  absl::Status status = RunClient(options);
  return status.ok() ? 0 : Fail(status);
}

}  // namespace tributary
