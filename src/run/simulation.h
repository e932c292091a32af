// Simulation: the round engine over virtual clients in one process. Each round samples K
// clients, trains them concurrently on a worker pool (one model replica per worker), folds their
// deltas into the strategy as they finish, and evaluates the new global model every R rounds.
//
// Thread-safety: Run() is called from one thread; it uses its own worker threads inside.
#ifndef TRIBUTARY_RUN_SIMULATION_H_
#define TRIBUTARY_RUN_SIMULATION_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "report/round_metrics.h"
#include "run/experiment.h"
#include "sim/client_population.h"
#include "tensor/model_state.h"

namespace tributary {

class Simulation {
 public:
  // Loads the data, partitions it, initializes the global model and the workers.
  static absl::StatusOr<std::unique_ptr<Simulation>> Create(const ExperimentConfig& config);
  ~Simulation();

  // Runs every round; `on_round` sees each round's metrics as soon as it ends and may stop the
  // run by returning an error.
  absl::Status Run(const std::function<absl::Status(const RoundMetrics&)>& on_round);

  const ModelState& global_model() const;
  const ClientPopulation& population() const;
  int num_workers() const;

 private:
  struct State;
  static absl::StatusOr<double> MeanClientAccuracy(State& s);
  explicit Simulation(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tributary

#endif  // TRIBUTARY_RUN_SIMULATION_H_
