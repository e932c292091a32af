// Simulation: `tributary simulate`, the round engine (engine/round_engine.h) over virtual clients
// in one process. Each round the sampled clients are trained concurrently on the engine's worker
// pool (one model replica per worker) through the same client step a deployed client runs, their
// links, speeds and failures are modelled on a virtual clock (sim/system_model.h), and their
// uploads are folded into the strategy as they finish.
//
// Over several ranks (SimulationOptions::ranks, `mpirun -n R tributary simulate`) every rank
// runs this same engine: it derives each round's cohort from the seed, trains the cohort
// members it owns (dist/client_ownership.h; their state lives only there), and shares their
// records and encoded uploads with the other ranks (run/round_share.h); every rank then
// submits every upload, so all hold the same model, bit for bit, whatever the rank count.
//
// Thread-safety: Run() is called from one thread; it uses its own worker threads inside.
#ifndef TRIBUTARY_RUN_SIMULATION_H_
#define TRIBUTARY_RUN_SIMULATION_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "engine/experiment.h"
#include "engine/recorded_rounds.h"
#include "report/round_metrics.h"
#include "sim/client_population.h"
#include "tensor/model_state.h"

namespace tributary {

class Communicator;   // dist/communicator.h
struct ClientMemory;  // engine/client_step.h

struct SimulationOptions {
  // `tributary simulate --replay`: every round trains the recorded round's accepted clients
  // (engine/recorded_rounds.h) instead of a sample, and none of them fails.
  std::shared_ptr<const std::map<int, RecordedRound>> replay;
  // The ranks this simulation runs on (outlives the Simulation); null or one rank: this
  // process alone. Only rank 0 evaluates the global model (the others' metrics lack it).
  Communicator* ranks = nullptr;
};

class Simulation {
 public:
  // Loads the data, partitions it, initializes the global model and the workers.
  static absl::StatusOr<std::unique_ptr<Simulation>> Create(const ExperimentConfig& config,
                                                            const SimulationOptions& options = {});
  ~Simulation();

  // Runs every round; `on_round` sees each round's metrics as soon as it ends and may stop the
  // run by returning an error.
  absl::Status Run(const std::function<absl::Status(const RoundMetrics&)>& on_round);

  const ModelState& global_model() const;
  const ClientPopulation& population() const;
  // What client `client` keeps between rounds (empty on ranks that do not own it; codec and
  // optimizer state empty while spilled, compute.client_state_mb), and the techniques' server
  // state (SCAFFOLD's c), for inspection after Run().
  const ClientMemory& client_memory(uint32_t client) const;
  const ModelState* server_state() const;
  int num_workers() const;

  // Checkpoints (`tributary simulate` writes DIR/checkpoint.bin; --resume): everything the next
  // round depends on (the engine's checkpoint, the downlink's history and each client's
  // version, the virtual clock, every client's carried state), so a resumed run ends with the
  // same metrics and model, byte for byte, as one never stopped. Why this run cannot have them
  // (several ranks; a technique with per-client state), or nothing.
  std::optional<std::string> WhyNoCheckpoints() const;
  // After round `round` completed (from Run()'s callback); `config_fingerprint` ties the file to
  // the resolved config.
  absl::Status WriteCheckpoint(const std::string& path, int round,
                               uint64_t config_fingerprint) const;
  // Before Run(): goes on after the checkpoint at `path` (or, when that one is damaged, the one
  // before it); returns its round.
  absl::StatusOr<int> Resume(const std::string& path, uint64_t config_fingerprint);

 private:
  class VirtualClients;
  explicit Simulation(std::unique_ptr<VirtualClients> clients);
  std::unique_ptr<VirtualClients> clients_;
};

}  // namespace tributary

#endif  // TRIBUTARY_RUN_SIMULATION_H_
