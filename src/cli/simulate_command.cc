#include <xxhash.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "cli/config_loader.h"
#include "cli/exit_code.h"
#include "cli/live_dashboard.h"
#include "cli/output_dir.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/status_util.h"
#include "dist/communicator.h"
#include "engine/recorded_rounds.h"
#include "report/metrics_writer.h"
#include "report/progress_printer.h"
#include "report/round_report_queue.h"
#include "report/run_state.h"
#include "run/simulation.h"

namespace tributary {
namespace {

// `state` marks the output folder's run as running once the folder is ready; the caller marks
// it finished or failed with the returned status. Under mpirun every rank runs this; rank 0
// alone writes the output folder and logs.
absl::Status Simulate(const SimulateOptions& options, Communicator& ranks,
                      std::optional<RunStateFile>& state) {
  TRIB_ASSIGN_OR_RETURN(LoadedConfig loaded,
                        LoadExperimentConfig(options.config_path, options.overrides));
  const ExperimentConfig& config = loaded.config;
  const bool reporting = ranks.rank() == 0;
  const std::string out_dir =
      options.out_dir.empty() ? absl::StrCat("runs/", config.run.name) : options.out_dir;
  // Each rank checkpoints the clients it owns (with the engine's state, the same on every rank).
  const std::string checkpoint_path =
      ranks.rank() == 0 ? out_dir + "/checkpoint.bin"
                        : absl::StrCat(out_dir, "/checkpoint.rank", ranks.rank(), ".bin");
  // Ties a checkpoint to the resolved config, as the server's do.
  const uint64_t fingerprint = XXH64(loaded.resolved_toml.data(), loaded.resolved_toml.size(), 0);
  if (options.resume && !std::filesystem::exists(checkpoint_path) &&
      !std::filesystem::exists(PreviousVersionPath(checkpoint_path))) {
    return absl::NotFoundError(
        absl::StrCat("--resume: no checkpoint at ", checkpoint_path, " (wrong --out?)"));
  }
  if (reporting) {
    if (!options.resume) {
      TRIB_RETURN_IF_ERROR(PrepareOutputDir(out_dir, options.overwrite));
      TRIB_RETURN_IF_ERROR(WriteFileAtomically(out_dir + "/config.toml", loaded.resolved_toml));
    }
    state.emplace(out_dir, "simulate");
    TRIB_RETURN_IF_ERROR(state->Start());
  }

  const auto start = std::chrono::steady_clock::now();
  LogInfo("tributary simulate: %s — %d clients (%s), %d per round, %d rounds, model %s",
          config.run.name.c_str(), config.data.partition.num_clients,
          PartitionSchemeName(config.data.partition.scheme), config.run.clients_per_round,
          config.run.rounds, config.model.name.c_str());
  SimulationOptions simulation_options;
  if (ranks.size() > 1) {
    LogInfo("%d ranks (mpirun): each trains the clients it owns; rank 0 evaluates and writes",
            ranks.size());
    simulation_options.ranks = &ranks;
  }
  if (!options.replay.empty()) {
    TRIB_ASSIGN_OR_RETURN(auto recorded, ReadRecordedRounds(options.replay));
    LogInfo("replaying the participation of %zu recorded rounds from %s", recorded.size(),
            options.replay.c_str());
    simulation_options.replay =
        std::make_shared<const std::map<int, RecordedRound>>(std::move(recorded));
  }
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Simulation> simulation,
                        Simulation::Create(config, simulation_options));
  LogInfo("model: %zu parameters (%s); %d workers x %d threads; output: %s",
          simulation->global_model().num_elements(),
          FormatBytes(simulation->global_model().num_bytes()).c_str(), simulation->num_workers(),
          config.ResolvedThreadsPerWorker(), out_dir.c_str());

  int resumed_after = 0;
  if (options.resume) {
    TRIB_ASSIGN_OR_RETURN(resumed_after, simulation->Resume(checkpoint_path, fingerprint));
    LogInfo("resuming after round %d of %d (%s)", resumed_after, config.run.rounds,
            checkpoint_path);
  }
  int checkpoint_every = options.checkpoint_every;
  if (checkpoint_every != 0) {
    if (std::optional<std::string> why = simulation->WhyNoCheckpoints()) {
      if (reporting && options.checkpoint_every > 0) LogInfo("no checkpoints: %s", *why);
      checkpoint_every = 0;
    }
  }
  // By default a checkpoint costs at most one round's writing per 5 minutes of running.
  constexpr auto kCheckpointInterval = std::chrono::minutes(5);
  auto last_checkpoint = std::chrono::steady_clock::now();
  const auto checkpoint_due = [&](int round) {
    if (checkpoint_every > 0) return round % checkpoint_every == 0;
    return checkpoint_every < 0 &&
           std::chrono::steady_clock::now() - last_checkpoint >= kCheckpointInterval;
  };
  std::unique_ptr<MetricsWriter> metrics;
  if (reporting) {
    TRIB_ASSIGN_OR_RETURN(metrics, MetricsWriter::Open(out_dir + "/metrics.jsonl", resumed_after));
  }
  // The dashboard reads what the run writes (metrics.jsonl); it adds nothing to a round.
  std::unique_ptr<DashboardServer> dashboard;
  if (reporting && !options.dashboard.listen.empty()) {
    TRIB_ASSIGN_OR_RETURN(dashboard,
                          StartDashboard(options.dashboard, {out_dir}, out_dir, nullptr));
  }
  ProgressPrinter progress(LogEnabled(LogLevel::kInfo) ? stdout : nullptr, config.run.rounds);
  RoundMetrics last;
  // With compute.eval_threads a round is reported once its evaluation, running alongside the
  // next round, is done; still in round order.
  RoundReportQueue reports;
  const auto report = [&](const RoundMetrics& m) {
    progress.PrintRound(m);
    last = m;
    return metrics->Write(m);
  };
  const absl::Status run = simulation->Run([&](const RoundMetrics& m) -> absl::Status {
    absl::Status written = reporting ? reports.Push(m, report) : absl::OkStatus();
    // After the metrics line: a resumed run never repeats a round its metrics already hold.
    // Every rank checkpoints the same rounds: one is written when any rank finds it due.
    if (checkpoint_every != 0 && m.round > 0 && m.round < config.run.rounds) {
      bool due = written.ok() && checkpoint_due(m.round);
      if (ranks.size() > 1) {
        TRIB_ASSIGN_OR_RETURN(const bool none_due, ranks.AllOk(!due));
        due = !none_due;
      }
      if (due && written.ok()) written = reports.Drain();  // the line first
      if (due && written.ok()) {
        written = simulation->WriteCheckpoint(checkpoint_path, m.round, fingerprint);
        last_checkpoint = std::chrono::steady_clock::now();
      }
    }
    if (ranks.size() > 1) {
      // Goes on only while every rank does.
      TRIB_ASSIGN_OR_RETURN(const bool all_ok, ranks.AllOk(written.ok()));
      if (written.ok() && !all_ok) return absl::AbortedError("another rank stopped the run");
    }
    return written;
  });
  // The rounds already run are reported, also when the run stopped.
  const absl::Status reported = reports.Drain();
  TRIB_RETURN_IF_ERROR(run);
  TRIB_RETURN_IF_ERROR(reported);
  if (reporting) {
    TRIB_RETURN_IF_ERROR(SaveModelState(simulation->global_model(), out_dir + "/model.pt"));
  }
  // A complete run has nothing to resume: its checkpoints would only take space.
  for (const std::string& path :
       {checkpoint_path, PreviousVersionPath(checkpoint_path), checkpoint_path + ".tmp"}) {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
  if (!reporting) return absl::OkStatus();

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  LogInfo(
      "done in %.1f s: test accuracy %.2f%%, test loss %.4f, %s up, %s down.\n"
      "results: %s/metrics.jsonl, model: %s/model.pt (torch.load-able), config: %s/config.toml",
      seconds, last.test_accuracy.value_or(0.0) * 100.0, last.test_loss.value_or(0.0),
      FormatBytes(last.bytes_up_total).c_str(), FormatBytes(last.bytes_down_total).c_str(),
      out_dir.c_str(), out_dir.c_str(), out_dir.c_str());
  return absl::OkStatus();
}

}  // namespace

int RunSimulateCommand(const SimulateOptions& options) {
  absl::StatusOr<std::unique_ptr<Communicator>> ranks = JoinRanks();
  if (!ranks.ok()) return Fail(ranks.status());
  if ((*ranks)->rank() != 0) {
    // Rank 0 reports; the others print only their errors.
    const absl::Status quiet = ConfigureLogging({.level = LogLevel::kError});
    if (!quiet.ok()) return Fail(quiet);
  }
  std::optional<RunStateFile> state;
  absl::Status status = Simulate(options, **ranks, state);
  if (state.has_value()) {
    const absl::Status recorded =
        status.ok() ? state->Finish() : state->Fail(std::string(status.message()));
    if (!recorded.ok()) LogWarning("%s", std::string(recorded.message()).c_str());
  }
  if (status.ok()) return 0;
  const int code = Fail(status);
  // The other ranks would wait for this one in their next collective.
  if ((*ranks)->size() > 1) (*ranks)->Abort(code);
  return code;
}

}  // namespace tributary
