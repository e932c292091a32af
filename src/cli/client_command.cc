#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/config_loader.h"
#include "cli/exit_code.h"
#include "common/file_util.h"
#include "common/log.h"
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
  FederatedClient federated(std::move(client));
  return federated.Run();
}

}  // namespace

int RunClientCommand(const ClientCommandOptions& options) {
  absl::Status status = RunClient(options);
  return status.ok() ? 0 : Fail(status);
}

}  // namespace tributary
