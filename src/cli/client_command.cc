#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "cli/config_loader.h"
#include "cli/exit_code.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/status_line.h"
#include "common/status_util.h"
#include "deploy/client_tokens.h"
#include "deploy/federated_client.h"
#include "engine/experiment_data.h"

namespace tributary {
namespace {

// Training, model and codecs are the server's; the data (and the seed that partitions it) are
// this client's own.
absl::StatusOr<ExperimentConfig> ServerConfig(const std::string& server_toml) {
  TRIB_ASSIGN_OR_RETURN(LoadedConfig server, ParseExperimentConfig(server_toml, "server", {}));
  return server.config;
}

FederatedClientOptions CommonOptions(const ClientCommandOptions& options,
                                     const ExperimentConfig& data_config) {
  FederatedClientOptions client;
  client.server_address = options.server;
  client.tls = options.tls;
  client.uplink_mbps = options.uplink_mbps;
  client.downlink_mbps = options.downlink_mbps;
  client.give_up_seconds = options.give_up_seconds;
  client.chaos_secagg_dropout = options.chaos_secagg_dropout;
  client.data_config = data_config;
  client.resolve_config = ServerConfig;
  return client;
}

absl::Status RunOneClient(const ClientCommandOptions& options, const ExperimentConfig& local) {
  FederatedClientOptions client = CommonOptions(options, local);
  client.client_id = options.client_id;
  if (!options.token_file.empty()) {
    TRIB_ASSIGN_OR_RETURN(std::string token, ReadFile(options.token_file));
    client.token = std::string(absl::StripAsciiWhitespace(token));
  } else {
    client.token = options.token;
  }
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

constexpr size_t kMaxHostedClients = 10000;

// "0-999" or "0-9,20,30-39": distinct ids below `num_clients`, in the order given.
absl::StatusOr<std::vector<uint32_t>> ParseClientIds(std::string_view text, int num_clients) {
  std::vector<uint32_t> ids;
  std::vector<bool> seen(static_cast<size_t>(num_clients), false);
  for (absl::string_view part : absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    std::vector<absl::string_view> bounds = absl::StrSplit(part, absl::MaxSplits('-', 1));
    uint32_t first = 0, last = 0;
    if (!absl::SimpleAtoi(bounds[0], &first) ||
        !absl::SimpleAtoi(bounds.size() == 2 ? bounds[1] : bounds[0], &last) || last < first) {
      return absl::InvalidArgumentError(absl::StrCat("--client-ids: '", std::string(part),
                                                     "' is not an id or a range FIRST-LAST"));
    }
    if (last >= static_cast<uint32_t>(num_clients)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--client-ids: client ", last, " >= data.num_clients ", num_clients));
    }
    for (uint32_t id = first; id <= last; ++id) {
      if (seen[id]) {
        return absl::InvalidArgumentError(absl::StrCat("--client-ids: client ", id, " twice"));
      }
      seen[id] = true;
      ids.push_back(id);
    }
  }
  return ids;
}

// Many clients in one process: the data loaded once and shared, each client on its own thread
// with its own connection and token, exactly as if each were its own process.
absl::Status RunManyClients(const ClientCommandOptions& options, const ExperimentConfig& local) {
  const int num_clients = local.data.partition.num_clients;
  TRIB_ASSIGN_OR_RETURN(std::vector<uint32_t> ids, ParseClientIds(options.client_ids, num_clients));
  if (ids.size() > kMaxHostedClients) {
    return absl::InvalidArgumentError(absl::StrCat("--client-ids: ", ids.size(),
                                                   " clients; one process hosts at most ",
                                                   kMaxHostedClients, " (two threads each)"));
  }
  if (options.chaos_secagg_dropout) {
    return absl::InvalidArgumentError(
        "--chaos-secagg-dropout kills the whole process: give each such client its own");
  }
  if (options.token_file.empty()) {
    return absl::InvalidArgumentError(
        "--client-ids needs --token-file with a \"CLIENT_ID TOKEN\" line per client");
  }
  TRIB_ASSIGN_OR_RETURN(ClientTokens tokens,
                        ClientTokens::Load(options.token_file, static_cast<uint32_t>(num_clients)));
  for (uint32_t id : ids) {
    if (tokens.Find(id) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(options.token_file, " has no token for client ", id));
    }
  }
  TRIB_ASSIGN_OR_RETURN(ExperimentData data, LoadExperimentData(local, {.test = false}));
  LogInfo("tributary client: %zu clients (%s) on server %s (%s), data %s", ids.size(),
          options.client_ids, options.server, options.tls.insecure ? "plain text" : "TLS",
          options.data_config_path);
  std::vector<absl::Status> results(ids.size());
  std::vector<std::thread> threads;
  threads.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    FederatedClientOptions client = CommonOptions(options, local);
    client.client_id = ids[i];
    client.token = *tokens.Find(ids[i]);
    client.shared_data = {
        .train = data.train, .examples = std::move(data.partitions[ids[i]]), .shape = data.model};
    threads.emplace_back([&results, i, client = std::move(client)]() mutable {
      FederatedClient federated(std::move(client));
      results[i] = federated.Run();
    });
  }
  for (std::thread& thread : threads) thread.join();
  size_t failed = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (results[i].ok()) continue;
    if (++failed <= 10) LogError("client %u: %s", ids[i], results[i].ToString());
  }
  if (failed > 0) {
    return absl::UnknownError(
        absl::StrCat(failed, " of ", ids.size(), " clients failed (the first ten above)"));
  }
  LogInfo("tributary client: all %zu clients done", ids.size());
  return absl::OkStatus();
}

absl::Status RunClient(const ClientCommandOptions& options) {
  if (options.has_client_id == !options.client_ids.empty()) {
    return absl::InvalidArgumentError("give exactly one of --client-id and --client-ids");
  }
  if (options.token.empty() == options.token_file.empty()) {
    return absl::InvalidArgumentError("give exactly one of --token and --token-file");
  }
  TRIB_ASSIGN_OR_RETURN(LoadedConfig local,
                        LoadExperimentConfig(options.data_config_path, options.overrides));
  return options.client_ids.empty() ? RunOneClient(options, local.config)
                                    : RunManyClients(options, local.config);
}

}  // namespace

int RunClientCommand(const ClientCommandOptions& options) {
  absl::Status status = RunClient(options);
  return status.ok() ? 0 : Fail(status);
}

}  // namespace tributary
