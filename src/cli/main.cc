// The tributary command line.
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/config_loader.h"

int main(int argc, char** argv) {
  CLI::App app{"Tributary: communication-efficient federated training"};
  app.require_subcommand(1);

  tributary::SimulateOptions simulate;
  CLI::App* sim = app.add_subcommand(
      "simulate", "Run a federated experiment with virtual clients in this process");
  sim->add_option("config", simulate.config_path, "Experiment config (TOML)")
      ->required()
      ->check(CLI::ExistingFile);
  sim->add_option("--set", simulate.overrides,
                  "Override a config key, e.g. --set train.lr=0.1 (repeatable)")
      ->allow_extra_args(false);
  sim->add_option("--out", simulate.out_dir,
                  "Output folder (default runs/<run.name>): config.toml, metrics.jsonl, model.pt");
  sim->add_flag("--overwrite", simulate.overwrite,
                "Replace the results already in the output folder");
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

  CLI11_PARSE(app, argc, argv);
  if (sim->parsed()) return tributary::RunSimulateCommand(simulate);
  return tributary::RunPartitionCommand(partition);
}
