// The tributary command line.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"
#include "cli/config_loader.h"
#include "cli/exit_code.h"
#include "common/allocator_tuning.h"
#include "common/log.h"
#include "report/metric_axes.h"

namespace {

// --dashboard and its token, shared by simulate and server.
void AddDashboardFlags(CLI::App* command, tributary::DashboardFlags& flags) {
  command->add_option("--dashboard", flags.listen,
                      "Serve a live dashboard of this run at PORT (on 127.0.0.1) or HOST:PORT "
                      "(beyond loopback only with a token); docs/dashboard.md");
  command->add_option("--dashboard-token", flags.token,
                      "Token the dashboard asks for (?token=...): required off loopback");
  command
      ->add_option("--dashboard-token-file", flags.token_file,
                   "File holding that token (keeps it out of the process list)")
      ->check(CLI::ExistingFile);
}

}  // namespace

int main(int argc, char** argv) {
  tributary::KeepFreedMemoryForReuse();
  CLI::App app{"Tributary: communication-efficient federated training"};
  app.require_subcommand(1);
  // Options of every subcommand, given before or after its name.
  app.fallthrough();
  std::string log_level = "info", log_file;
  bool quiet = false;
  app.add_option("--log-level", log_level, "debug, info, warning, error or off")
      ->capture_default_str();
  app.add_option("--log-file", log_file, "Append log lines to this file instead of the terminal");
  app.add_flag("--quiet", quiet, "Only warnings and errors (same as --log-level warning)");

  tributary::SimulateOptions simulate;
  CLI::App* sim = app.add_subcommand(
      "simulate",
      "Run a federated experiment with virtual clients in this process; under `mpirun -n R` "
      "the clients are spread over R processes with bit-identical results (docs/scale.md)");
  sim->add_option("config", simulate.config_path, "Experiment config (TOML)")
      ->required()
      ->check(CLI::ExistingFile);
  sim->add_option("--set", simulate.overrides,
                  "Override a config key, e.g. --set train.lr=0.1 (repeatable)")
      ->allow_extra_args(false);
  sim->add_option("--out", simulate.out_dir,
                  "Output folder (default runs/<run.name>): config.toml, metrics.jsonl, "
                  "checkpoint.bin, model.pt");
  CLI::Option* overwrite = sim->add_flag("--overwrite", simulate.overwrite,
                                         "Replace the results already in the output folder");
  sim->add_flag("--resume", simulate.resume,
                "Continue the run in --out after the last round its checkpoint.bin holds (give "
                "the run's own config, e.g. OUT/config.toml): the rest of the run's metrics and "
                "its model are the same bytes as if it had never stopped")
      ->excludes(overwrite);
  sim->add_option("--checkpoint-every", simulate.checkpoint_every,
                  "Write checkpoint.bin after every N rounds (0: never; default: after the first "
                  "round that ends 5 minutes or more after the last checkpoint). It holds the "
                  "downlink's history and every client's carried state (error-feedback "
                  "residuals, kept optimizer moments), so it can be large; it is removed when "
                  "the run completes")
      ->check(CLI::NonNegativeNumber);
  sim->add_option("--replay", simulate.replay,
                  "A recorded run's metrics.jsonl: each round trains exactly the clients whose "
                  "updates that run aggregated (no sampling, no failures), so that with the "
                  "run's config and seed the model is recomputed bit for bit (a deployed run "
                  "checked against simulation; docs/reliability.md)")
      ->check(CLI::ExistingFile);
  AddDashboardFlags(sim, simulate.dashboard);
  sim->footer(tributary::ConfigReference());

  tributary::PartitionCommandOptions partition;
  CLI::App* part = app.add_subcommand(
      "partition", "Print each client's label histogram for a config's data partition");
  part->add_option("config", partition.config_path, "Experiment config (TOML)")
      ->required()
      ->check(CLI::ExistingFile);
  part->add_option("--set", partition.overrides, "Override a config key (repeatable)")
      ->allow_extra_args(false);
  part->add_option("--rows", partition.max_rows, "Clients to list")->capture_default_str();

  tributary::ServerCommandOptions server;
  CLI::App* srv = app.add_subcommand(
      "server", "Coordinate a federated run with real clients over gRPC (docs/deploy.md)");
  srv->add_option("config", server.config_path, "Experiment config (TOML)")
      ->required()
      ->check(CLI::ExistingFile);
  srv->add_option("--set", server.overrides, "Override a config key (repeatable)")
      ->allow_extra_args(false);
  srv->add_option("--out", server.out_dir,
                  "Output folder (default runs/<run.name>): config.toml, metrics.jsonl, "
                  "checkpoint.bin, model.pt, server.port");
  srv->add_flag("--overwrite", server.overwrite, "Replace the results already in --out");
  srv->add_flag("--resume", server.resume,
                "Continue after the last completed round of the checkpoint in --out");
  srv->add_option("--listen", server.listen,
                  "HOST:PORT to serve on (port 0: any free port); default 0.0.0.0:7878 with TLS, "
                  "127.0.0.1:7878 with --insecure (tokens in clear text stay on this machine)");
  srv->add_option("--tokens", server.tokens_path,
                  "File of \"CLIENT_ID TOKEN\" lines; every call must carry its client's token")
      ->required()
      ->check(CLI::ExistingFile);
  srv->add_flag("--insecure", server.tls.insecure, "Plain text, no TLS (trusted loopback only)");
  srv->add_option("--tls-cert", server.tls.cert_path, "Server certificate chain (PEM)");
  srv->add_option("--tls-key", server.tls.key_path, "Server private key (PEM)");
  srv->add_option("--tls-client-ca", server.tls.client_ca_path,
                  "CA (PEM) that signs client certificates: requires mutual TLS");
  srv->add_option("--quorum", server.coordinator.quorum,
                  "Accepted updates a round needs to change the model")
      ->capture_default_str();
  srv->add_option("--over-selection", server.coordinator.over_selection,
                  "Select this fraction more clients than clients_per_round; the round closes "
                  "when clients_per_round updates are in")
      ->capture_default_str();
  srv->add_option("--round-deadline", server.coordinator.round_deadline_seconds,
                  "Seconds after which a round closes without its stragglers")
      ->capture_default_str();
  srv->add_option("--wait-for-clients", server.coordinator.wait_for_clients,
                  "Registered clients needed before round 1 (0: clients_per_round)")
      ->capture_default_str();
  srv->add_option("--wait-timeout", server.coordinator.wait_timeout_seconds,
                  "Seconds to wait for them")
      ->capture_default_str();
  srv->add_option("--liveness-timeout", server.coordinator.liveness_seconds,
                  "A registered client silent this long (not polling, not uploading) is treated "
                  "as gone when selected: dropped at once, not waited for")
      ->capture_default_str();
  srv->add_option("--secagg-stage-deadline", server.coordinator.secagg_stage_seconds,
                  "Secure aggregation: seconds each stage without training (advertise keys, "
                  "share keys, unmasking) waits for its clients' messages")
      ->capture_default_str();
  AddDashboardFlags(srv, server.dashboard);
  srv->add_option("--metrics-listen", server.metrics_listen,
                  "HOST:PORT serving Prometheus metrics at /metrics (off when empty)");
  srv->add_option("--max-calls-per-client", server.limits.max_calls_per_client,
                  "Calls one client may hold at once (more: RESOURCE_EXHAUSTED, counted)")
      ->capture_default_str();
  srv->add_option("--max-calls", server.limits.max_calls_total,
                  "Calls the server may hold at once (0: 2 per client + 16)")
      ->capture_default_str();
  srv->add_option("--max-streams-per-connection", server.limits.max_streams_per_connection,
                  "HTTP/2 streams one connection may open at once")
      ->capture_default_str();
  srv->add_option("--first-message-timeout", server.limits.first_message_seconds,
                  "Seconds an upload has to send its header before it is cancelled")
      ->capture_default_str();
  srv->add_option("--stream-idle-timeout", server.limits.stream_idle_seconds,
                  "Seconds a download or upload may go without moving a chunk before it is "
                  "cancelled")
      ->capture_default_str();
  srv->add_option("--keepalive", server.limits.keepalive_seconds,
                  "Seconds of silence after which the server pings a connection")
      ->capture_default_str();
  srv->add_option("--keepalive-timeout", server.limits.keepalive_timeout_seconds,
                  "Seconds a ping may go unanswered before the connection is closed (its calls "
                  "fail; a polling client leaves the pool)")
      ->capture_default_str();
  srv->add_option("--connection-idle-timeout", server.limits.connection_idle_seconds,
                  "Seconds a connection without any call stays open")
      ->capture_default_str();
  srv->add_option("--handshake-timeout", server.limits.handshake_seconds,
                  "Seconds a new connection has for its TLS and HTTP/2 set-up")
      ->capture_default_str();

  tributary::ClientCommandOptions client;
  CLI::App* cli = app.add_subcommand("client", "Join a federated run as one client");
  cli->add_option("--server", client.server, "Server HOST:PORT")->required();
  CLI::Option* client_id =
      cli->add_option("--client-id", client.client_id, "This client's id (its data partition)");
  cli->add_option("--client-ids", client.client_ids,
                  "Host many clients in this process instead, e.g. 0-999 or 0-9,20,30-39: the "
                  "data is loaded once, and each client runs on its own thread with its own "
                  "connection and token (--token-file then holds \"CLIENT_ID TOKEN\" lines, as "
                  "the server's --tokens file does)")
      ->excludes(client_id);
  cli->add_option("--token", client.token, "Bearer token (or --token-file)");
  cli->add_option("--token-file", client.token_file,
                  "File holding the bearer token (with --client-ids: each client's)")
      ->check(CLI::ExistingFile);
  cli->add_option("--data-config", client.data_config_path,
                  "Config whose [data] section and run.seed give this client's partition")
      ->required()
      ->check(CLI::ExistingFile);
  cli->add_option("--set", client.overrides, "Override a key of the data config (repeatable)")
      ->allow_extra_args(false);
  cli->add_flag("--insecure", client.tls.insecure, "Plain text, no TLS (trusted loopback only)");
  cli->add_option("--tls-ca", client.tls.ca_path,
                  "CA (PEM) that signs the server's certificate (default: system roots)");
  cli->add_option("--tls-cert", client.tls.cert_path, "Client certificate (PEM), mutual TLS");
  cli->add_option("--tls-key", client.tls.key_path, "Client private key (PEM), mutual TLS");
  cli->add_option("--tls-server-name", client.tls.server_name,
                  "Name the server's certificate must carry, when not the host's");
  cli->add_option("--uplink-mbps", client.uplink_mbps,
                  "Emulated uplink: token bucket in Mbit/s (0: unlimited)")
      ->capture_default_str();
  cli->add_option("--downlink-mbps", client.downlink_mbps,
                  "Emulated downlink: token bucket in Mbit/s (0: unlimited)")
      ->capture_default_str();
  cli->add_option("--give-up", client.give_up_seconds,
                  "Seconds without reaching the server before the client gives up")
      ->capture_default_str();
  cli->add_flag("--chaos-secagg-dropout", client.chaos_secagg_dropout,
                "Testing: kill this process (SIGKILL) before each secure aggregation stage at "
                "which the run's secagg.stage_dropout has `simulate` drop this client, so a "
                "deployed run with real dropouts can be compared with the simulated one");

  tributary::GenerateCommandOptions generate;
  CLI::App* gen = app.add_subcommand("generate", "Continue a prompt with a trained gpt model");
  gen->add_option("--model", generate.model_path, "The run's model.pt")->required();
  gen->add_option("--config", generate.config_path,
                  "The run's config (default: config.toml beside the model)");
  gen->add_option("--prompt", generate.prompt, "Text to continue")->required();
  gen->add_option("--tokens", generate.tokens, "Tokens to generate")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  gen->add_option("--temperature", generate.temperature, "Sampling temperature (0: greedy)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  gen->add_option("--top-k", generate.top_k, "Sample among the k likeliest tokens (0: all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  gen->add_option("--seed", generate.seed, "Sampling seed")->capture_default_str();

  tributary::PrivacyCommandOptions privacy;
  CLI::App* priv = app.add_subcommand(
      "privacy",
      "Client-level DP accounting (RDP, Poisson sampling): epsilon for a noise multiplier, or "
      "the noise multiplier for a target epsilon");
  priv->add_option("--config", privacy.config_path,
                   "Take q = K / N, rounds, delta and the noise multiplier from this run config");
  priv->add_option("--set", privacy.overrides, "Override a config key (with --config)");
  priv->add_option("--sampling-rate", privacy.sampling_rate,
                   "q: each client's probability of taking part in a round");
  priv->add_option("--rounds", privacy.rounds, "Rounds (compositions)");
  priv->add_option("--delta", privacy.delta, "delta (default 1e-5)");
  priv->add_option("--noise-multiplier", privacy.noise_multiplier,
                   "z: noise std over the clip norm; prints epsilon");
  priv->add_option("--target-epsilon", privacy.target_epsilon,
                   "prints the smallest noise multiplier that stays within it");

  tributary::NoiseScaleCommandOptions noise;
  CLI::App* nsc = app.add_subcommand(
      "noise-scale",
      "The gradient noise scale B_simple = tr(Sigma) / |G|^2 of a config's model (model.init, "
      "or its seeded start) on all its training examples (McCandlish et al. 2018): about the "
      "critical batch size");
  nsc->add_option("config", noise.config_path, "Run config (TOML)")->required();
  nsc->add_option("--set", noise.overrides, "Override a config key, e.g. model.init=model.pt");
  nsc->add_option("--small", noise.small_batch, "Small batch (default: train.batch_size)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  nsc->add_option("--big", noise.big_batch, "Big batch (default: 16 x the small one)")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 30));
  nsc->add_option("--draws", noise.draws, "Gradients drawn at each size")
      ->capture_default_str()
      ->check(CLI::Range(2, 100000));
  nsc->add_option("--seed", noise.seed, "Seed of the batches drawn")->capture_default_str();

  tributary::PlotCommandOptions plot;
  CLI::App* plt = app.add_subcommand(
      "plot", "Draw a metric of one or more runs against rounds, bytes or time (gnuplot)");
  plt->add_option("runs", plot.runs, "Run folders (or their metrics.jsonl files)")->required();
  plt->add_option("--x", plot.x, "x axis: " + tributary::XAxisNames())->capture_default_str();
  plt->add_option("--y", plot.y,
                  "y axis: a metrics.jsonl field (test_accuracy, test_loss, test_perplexity, "
                  "train_loss, client_accuracy, dp_epsilon, bytes_up, ...)")
      ->capture_default_str();
  plt->add_option("--out", plot.out, "The figure: FILE.svg, FILE.png or FILE.pdf")->required();
  plt->add_option("--label", plot.labels,
                  "Legend entry of each run, in order (default: the runs' folder names)");
  plt->add_option("--title", plot.title, "Figure title");
  plt->add_flag("--log-x", plot.log_x, "Logarithmic x axis");
  plt->add_flag("--log-y", plot.log_y, "Logarithmic y axis");
  plt->add_option("--width", plot.width, "Width in pixels (PDF: 1/100 inch)")
      ->capture_default_str()
      ->check(CLI::Range(200, 4000));
  plt->add_option("--height", plot.height, "Height in pixels (PDF: 1/100 inch)")
      ->capture_default_str()
      ->check(CLI::Range(150, 4000));

  tributary::DashboardCommandOptions dashboard;
  CLI::App* dash = app.add_subcommand(
      "dashboard",
      "Serve a web page of runs: list, curves overlaid, config diff (docs/dashboard.md)");
  dash->add_option("runs", dashboard.roots,
                   "Run folders, or folders that hold runs (searched 4 levels down)")
      ->capture_default_str();
  dash->add_option("--listen", dashboard.flags.listen,
                   "HOST:PORT (port 0: any free port); beyond loopback only with --token")
      ->capture_default_str();
  dash->add_option("--token", dashboard.flags.token,
                   "Token the page's address must carry (?token=...)");
  dash->add_option("--token-file", dashboard.flags.token_file, "File holding that token")
      ->check(CLI::ExistingFile);

  CLI11_PARSE(app, argc, argv);
  absl::StatusOr<tributary::LogLevel> level =
      tributary::ParseLogLevel(quiet ? "warning" : log_level);
  if (!level.ok()) return tributary::Fail(level.status());
  if (absl::Status logging = tributary::ConfigureLogging({.level = *level, .file = log_file});
      !logging.ok()) {
    return tributary::Fail(logging);
  }
  if (gen->parsed()) return tributary::RunGenerateCommand(generate);
  if (priv->parsed()) return tributary::RunPrivacyCommand(privacy);
  if (plt->parsed()) return tributary::RunPlotCommand(plot);
  if (nsc->parsed()) return tributary::RunNoiseScaleCommand(noise);
  if (dash->parsed()) return tributary::RunDashboardCommand(dashboard);
  if (sim->parsed()) return tributary::RunSimulateCommand(simulate);
  if (srv->parsed()) return tributary::RunServerCommand(server);
  if (cli->parsed()) {
    client.has_client_id = client_id->count() > 0;
    // A client's work is done and its log lines written (each is flushed) when the command
    // returns. Running the static destructors of the ~340 libraries libtorch loads faults 6 MiB
    // of their code back in, the client's peak memory (docs/performance.md), for nothing.
    const int code = tributary::RunClientCommand(client);
    std::fflush(nullptr);
    std::_Exit(code);
  }
  return tributary::RunPartitionCommand(partition);
}
