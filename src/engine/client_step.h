// ClientStep: what one client does in a round, the same for a virtual client of the simulator
// and for `tributary client`: from the public model it downloaded, build the model it trains
// (its slice, for a HeteroFL small client; with its own local layers, for partial
// personalization), train (with SCAFFOLD's gradient correction), let a Byzantine client replace
// its update with its attack, keep its local layers, and encode what travels with the uplink
// codec (error feedback, bandwidth-aware top-k, SCAFFOLD's control variate change).
//
// Thread-safety: Run() may be called concurrently with distinct memories and workspaces.
#ifndef TRIBUTARY_ENGINE_CLIENT_STEP_H_
#define TRIBUTARY_ENGINE_CLIENT_STEP_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "compress/pipeline.h"
#include "engine/client_channel.h"
#include "engine/experiment.h"
#include "engine/local_layers.h"
#include "sim/byzantine.h"
#include "tensor/model_slice.h"
#include "tensor/model_state.h"
#include "train/local_trainer.h"
#include "train/optimizer_state.h"
#include "train/tensor_dataset.h"

namespace tributary {

// What a client keeps from one round to the next; each part is empty until first used.
struct ClientMemory {
  CodecState codec;          // error-feedback residual
  OptimizerState optimizer;  // when train.keep_optimizer_state
  ModelState control;        // SCAFFOLD's c_i
  std::vector<float> local;  // its local layers' values
};

// One trainer (two with HeteroFL) and buffers in the model's layouts, reused every round.
struct ClientWorkspace {
  std::unique_ptr<LocalTrainer> trainer;
  std::unique_ptr<LocalTrainer> small_trainer;
  ModelState delta, correction, personal, control_delta;
  ModelState small_model, small_delta;
};

// What the server sends along with the model for a round.
struct ClientTaskInputs {
  int round = 0;
  const ModelState* server_control = nullptr;  // SCAFFOLD's c; null otherwise
  double ratio_scale = 1.0;                    // bandwidth-aware top-k (CodecContext)
};

struct ClientStepResult {
  ClientUpload upload;
  LocalTrainResult train;
  bool small = false;  // trained a slice of the model
};

class ClientStep {
 public:
  // `layout`: the global model's.
  static absl::StatusOr<std::unique_ptr<ClientStep>> Create(const ExperimentConfig& config,
                                                            const ModelState& global);

  absl::StatusOr<ClientWorkspace> NewWorkspace() const;
  // HeteroFL: whether `client` trains the narrower slice (fixed by the seed).
  bool is_small(uint32_t client) const { return !is_small_.empty() && is_small_[client]; }
  const LocalLayers& local_layers() const { return local_layers_; }
  const std::vector<float>& initial_local() const { return initial_local_; }
  const ByzantineClients& byzantine() const { return byzantine_; }

  // One round of `client` on examples `examples` of `data`, starting from `public_model`.
  absl::StatusOr<ClientStepResult> Run(uint32_t client, const ClientTaskInputs& task,
                                       const ModelState& public_model, const TensorDataset& data,
                                       std::span<const uint32_t> examples, ClientMemory& memory,
                                       ClientWorkspace& workspace) const;

  // The model `client` evaluates with: the global model with its own local layers.
  const ModelState& PersonalModel(const ModelState& global, const ClientMemory& memory,
                                  ModelState& scratch) const;

 private:
  ClientStep() = default;

  ExperimentConfig config_;
  TrainOptions train_;  // config_.train with the strategy's proximal term
  std::unique_ptr<Pipeline> uplink_;
  std::vector<TensorSpec> layout_;
  LocalLayers local_layers_;
  std::vector<float> initial_local_;
  std::vector<bool> is_small_;
  std::optional<ModelSlice> small_slice_;
  ModelSpec small_spec_;
  ByzantineClients byzantine_;
};

// Local training options as the config's strategy wants them (FedProx's proximal term).
absl::StatusOr<TrainOptions> ClientTrainOptions(const ExperimentConfig& config);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_CLIENT_STEP_H_
