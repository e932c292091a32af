// ClientStep: what one client does in a round, the same for a virtual client of the simulator
// and for `tributary client`: from the public model it downloaded, train (from the model the
// techniques choose: a slice, its own local layers; with their gradient correction), let the
// techniques shape the update (an attack, local layers kept back), encode it with the uplink
// codec (error feedback, the task's top-k ratio scale) and let them attach what else travels.
//
// Thread-safety: Run() may be called concurrently with distinct memories and workspaces.
#ifndef TRIBUTARY_ENGINE_CLIENT_STEP_H_
#define TRIBUTARY_ENGINE_CLIENT_STEP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "compress/pipeline.h"
#include "engine/client_channel.h"
#include "engine/experiment.h"
#include "engine/technique.h"
#include "tensor/model_state.h"
#include "train/local_trainer.h"
#include "train/optimizer_state.h"
#include "train/tensor_dataset.h"

namespace tributary {

// What a client keeps from one round to the next; each part is empty until first used.
struct ClientMemory {
  CodecState codec;                                         // error-feedback residual
  OptimizerState optimizer;                                 // when train.keep_optimizer_state
  std::vector<std::unique_ptr<TechniqueState>> techniques;  // by technique, once it has trained
};

// Training done outside the engine (the Python client's train function): from `start`, write
// (trained - start) into *delta and say what was trained.
using ExternalTrain =
    std::function<absl::StatusOr<LocalTrainResult>(const ModelState& start, ModelState* delta)>;

// A trainer and buffers in the model's layout (and the techniques'), reused every round.
struct ClientWorkspace {
  std::unique_ptr<LocalTrainer> trainer;
  // When set, trains instead of `trainer`. Techniques that change how training runs (FedProx's
  // proximal term, SCAFFOLD's correction, HeteroFL's narrow model) are refused with it.
  ExternalTrain external_train;
  ModelState delta;
  std::vector<std::unique_ptr<TechniqueState>> techniques;  // by technique
};

struct ClientStepResult {
  ClientUpload upload;
  LocalTrainResult train;
  double compute_scale = 1.0;  // the trained model's cost relative to the full one
};

class ClientStep {
 public:
  // `global`: the initial global model (its layout and values).
  static absl::StatusOr<std::unique_ptr<ClientStep>> Create(const ExperimentConfig& config,
                                                            const ModelState& global);

  absl::StatusOr<ClientWorkspace> NewWorkspace() const;

  // One round of `client` on examples `examples` of `data`, starting from `public_model`.
  // `data` may be null only when the workspace has an external_train.
  absl::StatusOr<ClientStepResult> Run(uint32_t client, const ClientTaskInputs& task,
                                       const ModelState& public_model, const TensorDataset* data,
                                       std::span<const uint32_t> examples, ClientMemory& memory,
                                       ClientWorkspace& workspace) const;

  // Secure aggregation: the values a client puts under the masks, its encoded update as the
  // server would decode it, at the coordinates of SecureInputPattern (all of them for fp32; a
  // sketch's table).
  absl::StatusOr<std::vector<float>> SecureInput(const ClientUpload& upload) const;

  // The model `client` evaluates with: the global model with its own local layers.
  const ModelState& PersonalModel(const ModelState& global, const ClientMemory& memory,
                                  ClientWorkspace& workspace) const;

  // Whether a client carries anything from one round to the next: an error-feedback residual,
  // PowerSGD's warm-started Q, kept optimizer state, a technique's per-client state. When not,
  // any process may train any client (a distributed simulation balances each round's cohort).
  bool KeepsClientState() const;
  // Whether a technique keeps per-client state (SCAFFOLD's c_i, local layers): what a
  // simulation's checkpoint cannot hold yet.
  bool TechniquesKeepClientState() const;

  // A copy of what `memory` holds but the optimizer state, to roll back an unacknowledged round.
  ClientMemory CopyForRollback(const ClientMemory& memory) const;

  // What a round leaves in a client's memory (the error-feedback residual, SCAFFOLD's c_i, its
  // local layers) stands only if the server aggregated its upload: for a refused, late or lost
  // upload, `memory` goes back to `before` (CopyForRollback() before Run()), so the client's
  // state never includes a round the server's does not. The one rule for virtual and deployed
  // clients. The optimizer state is not rolled back (train.keep_optimizer_state).
  void Settle(bool accepted, ClientMemory&& before, ClientMemory& memory) const;

 private:
  ClientStep() = default;

  ExperimentConfig config_;
  TrainOptions train_;  // config_.train as the techniques adjust it
  std::unique_ptr<Pipeline> uplink_;
  std::vector<TensorSpec> layout_;
  TechniqueSet techniques_;
};

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_CLIENT_STEP_H_
