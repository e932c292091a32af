#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/config_loader.h"
#include "cli/exit_code.h"
#include "cli/host_port.h"
#include "cli/live_dashboard.h"
#include "cli/output_dir.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/status_util.h"
#include "deploy/client_tokens.h"
#include "deploy/coordinator.h"
#include "deploy/coordinator_service.h"
#include "deploy/metrics_endpoint.h"
#include "deploy/server_limits.h"
#include "deploy/transport_settings.h"
#include "report/metrics_writer.h"
#include "report/progress_printer.h"
#include "report/round_report_queue.h"
#include "report/run_state.h"

namespace tributary {
namespace {

// `state` marks the output folder's run as running once the folder is ready; the caller marks
// it finished or failed with the returned status.
absl::Status Serve(const ServerCommandOptions& options, std::optional<RunStateFile>& state) {
  TRIB_ASSIGN_OR_RETURN(LoadedConfig loaded,
                        LoadExperimentConfig(options.config_path, options.overrides));
  const ExperimentConfig& config = loaded.config;
  TRIB_RETURN_IF_ERROR(CheckDeployable(config));
  TRIB_RETURN_IF_ERROR(options.limits.Validate());
  const SystemSpec simulated_links;
  if (config.system.profile != simulated_links.profile || config.system.dropout > 0.0 ||
      config.system.crash_upload > 0.0 || config.system.deadline_seconds > 0.0) {
    LogInfo(
        "note: [system] models links, dropouts and deadlines on the simulator's virtual clock; "
        "a deployed run has real ones (--round-deadline, client --uplink-mbps)");
  }
  const std::string out_dir =
      options.out_dir.empty() ? absl::StrCat("runs/", config.run.name) : options.out_dir;
  const std::string checkpoint_path = out_dir + "/checkpoint.bin";
  if (options.resume) {
    if (!std::filesystem::exists(checkpoint_path) &&
        !std::filesystem::exists(PreviousVersionPath(checkpoint_path))) {
      return absl::NotFoundError(
          absl::StrCat("--resume: no checkpoint at ", checkpoint_path, " (wrong --out?)"));
    }
  } else {
    TRIB_RETURN_IF_ERROR(PrepareOutputDir(out_dir, options.overwrite));
    TRIB_RETURN_IF_ERROR(WriteFileAtomically(out_dir + "/config.toml", loaded.resolved_toml));
  }
  state.emplace(out_dir, "server");
  TRIB_RETURN_IF_ERROR(state->Start());
  if (options.tokens_path.empty()) {
    return absl::InvalidArgumentError("--tokens FILE is required (lines \"CLIENT_ID TOKEN\")");
  }
  TRIB_ASSIGN_OR_RETURN(ClientTokens tokens,
                        ClientTokens::Load(options.tokens_path, config.data.partition.num_clients));
  TRIB_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                        MakeServerCredentials(options.tls));
  // Plain text carries the clients' tokens in the clear: by default it stays on this machine.
  const std::string listen_address =
      !options.listen.empty() ? options.listen
                              : (options.tls.insecure ? "127.0.0.1:7878" : "0.0.0.0:7878");
  TRIB_ASSIGN_OR_RETURN(auto listen, SplitHostPort(listen_address));
  if (options.tls.insecure && listen.first != "127.0.0.1" && listen.first != "localhost" &&
      listen.first != "[::1]") {
    LogWarning("--insecure on %s: client tokens and updates cross the network unencrypted",
               listen_address);
  }

  LogInfo("tributary server: %s — %d clients, %d per round, %d rounds, model %s",
          config.run.name.c_str(), config.data.partition.num_clients, config.run.clients_per_round,
          config.run.rounds, config.model.name.c_str());
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Coordinator> coordinator,
                        Coordinator::Create(config, loaded.resolved_toml, options.coordinator,
                                            options.resume ? checkpoint_path : ""));
  if (options.resume) {
    LogInfo("resuming after round %d from %s", coordinator->first_round() - 1,
            checkpoint_path.c_str());
  }

  CoordinatorService service(*coordinator, tokens, options.limits);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen_address, credentials, &port);
  builder.RegisterService(&service);
  ApplyTransportSettings(builder);
  ApplyServerLimits(options.limits, config.data.partition.num_clients, builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen_address));
  }
  TRIB_RETURN_IF_ERROR(WriteFileAtomically(out_dir + "/server.port", absl::StrCat(port, "\n")));
  LogInfo("listening on %s:%d (%s); output: %s", listen.first.c_str(), port,
          options.tls.insecure ? "plain text" : "TLS", out_dir.c_str());
  std::unique_ptr<MetricsEndpoint> metrics_endpoint;
  if (!options.metrics_listen.empty()) {
    TRIB_ASSIGN_OR_RETURN(auto metrics_address, SplitHostPort(options.metrics_listen));
    TRIB_ASSIGN_OR_RETURN(metrics_endpoint,
                          MetricsEndpoint::Start(coordinator->counters(), metrics_address.first,
                                                 metrics_address.second));
    TRIB_RETURN_IF_ERROR(WriteFileAtomically(out_dir + "/metrics.port",
                                             absl::StrCat(metrics_endpoint->port(), "\n")));
    LogInfo("metrics: http://%s:%d/metrics", metrics_address.first.c_str(),
            metrics_endpoint->port());
  }

  TRIB_ASSIGN_OR_RETURN(
      std::unique_ptr<MetricsWriter> metrics,
      MetricsWriter::Open(out_dir + "/metrics.jsonl", coordinator->first_round() - 1));
  std::unique_ptr<DashboardServer> dashboard;
  if (!options.dashboard.listen.empty()) {
    Coordinator* live = coordinator.get();
    TRIB_ASSIGN_OR_RETURN(dashboard, StartDashboard(options.dashboard, {out_dir}, out_dir, [live] {
                            const Coordinator::Progress p = live->CurrentProgress();
                            nlohmann::json status = {{"round", p.round},
                                                     {"clients_connected", p.connected},
                                                     {"clients_registered", p.registered}};
                            if (p.round_open) {
                              status["selected"] = p.selected;
                              status["training"] = p.training;
                              status["uploading"] = p.uploading;
                              status["accepted"] = p.accepted;
                              status["rejected"] = p.rejected;
                              status["dropped"] = p.dropped;
                            }
                            return status;
                          }));
  }
  ProgressPrinter progress(LogEnabled(LogLevel::kInfo) ? stdout : nullptr, config.run.rounds);
  RoundMetrics last;
  // With compute.eval_threads a round is reported (metrics line, then its checkpoint) once its
  // evaluation, running alongside the next round, is done; still in round order.
  RoundReportQueue reports;
  CoordinatorCounters& counters = coordinator->counters();
  // A report may now come after the next round has started: that round's uploads are
  // acknowledged once the report's checkpoint is written.
  coordinator->HoldAcknowledgementsUntilReported();
  absl::Status run = coordinator->Run([&](const RoundMetrics& m, const Checkpoint& checkpoint) {
    const auto report = [&](const RoundMetrics& m, const Checkpoint& checkpoint) {
      progress.PrintRound(m);
      last = m;
      if (m.test_accuracy.has_value()) counters.last_test_accuracy = *m.test_accuracy;
      TRIB_RETURN_IF_ERROR(metrics->Write(m));
      TRIB_RETURN_IF_ERROR(WriteCheckpoint(checkpoint_path, checkpoint));
      coordinator->ReportedRound(m.round);
      LogInfo("checkpoint: round %d", m.round);
      return absl::OkStatus();
    };
    if (!reports.WouldDefer(m)) return report(m, checkpoint);
    // Deferred: the engine goes on, so the report keeps its own copy of this round's state.
    auto saved = std::make_shared<const Checkpoint>(checkpoint);
    return reports.Push(m, [report, saved](const RoundMetrics& m) { return report(m, *saved); });
  });
  const absl::Status reported = reports.Drain();
  // Every client asks for its next round and hears that the run is over before the port closes.
  if (run.ok()) coordinator->WaitUntilClientsHeardTheEnd(5.0);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  TRIB_RETURN_IF_ERROR(run);
  TRIB_RETURN_IF_ERROR(reported);
  TRIB_RETURN_IF_ERROR(SaveModelState(coordinator->global_model(), out_dir + "/model.pt"));
  LogInfo("done: test accuracy %.2f%%, %s up, %s down; results in %s",
          last.test_accuracy.value_or(0.0) * 100.0, FormatBytes(last.bytes_up_total).c_str(),
          FormatBytes(last.bytes_down_total).c_str(), out_dir.c_str());
  return absl::OkStatus();
}

}  // namespace

int RunServerCommand(const ServerCommandOptions& options) {
  std::optional<RunStateFile> state;
  absl::Status status = Serve(options, state);
  if (state.has_value()) {
    const absl::Status recorded =
        status.ok() ? state->Finish() : state->Fail(std::string(status.message()));
    if (!recorded.ok()) LogWarning("%s", std::string(recorded.message()).c_str());
  }
  return status.ok() ? 0 : Fail(status);
}

}  // namespace tributary
