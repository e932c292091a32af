#include "engine/client_step.h"

#include <chrono>

#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "compress/error_feedback.h"
#include "engine/client_side.h"

namespace tributary {

absl::StatusOr<TrainOptions> ClientTrainOptions(const ExperimentConfig& config) {
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Strategy> strategy, CreateStrategy(config.strategy));
  TrainOptions train = config.train;
  train.proximal_mu = strategy->proximal_mu();
  return train;
}

absl::StatusOr<std::unique_ptr<ClientStep>> ClientStep::Create(const ExperimentConfig& config,
                                                               const ModelState& global) {
  auto step = std::unique_ptr<ClientStep>(new ClientStep());
  step->config_ = config;
  TRIB_ASSIGN_OR_RETURN(step->train_, ClientTrainOptions(config));
  TRIB_ASSIGN_OR_RETURN(step->uplink_, Pipeline::Parse(config.uplink_codec));
  step->layout_ = global.specs();
  TRIB_ASSIGN_OR_RETURN(step->local_layers_,
                        LocalLayers::Create(global.specs(), config.local_layers));
  step->local_layers_.GatherLocal(global.flat(), &step->initial_local_);
  const size_t clients = static_cast<size_t>(config.partition.num_clients);
  if (config.small_fraction > 0.0) {
    step->small_spec_ = config.model;
    step->small_spec_.width = config.small_width;
    TRIB_ASSIGN_OR_RETURN(std::unique_ptr<LocalTrainer> small,
                          LocalTrainer::Create(step->small_spec_, step->train_));
    TRIB_ASSIGN_OR_RETURN(step->small_slice_, ModelSlice::Create(global.specs(), small->layout()));
    step->is_small_ = ChooseSmallClients(clients, config.small_fraction, config.seed);
  }
  TRIB_ASSIGN_OR_RETURN(step->byzantine_,
                        ByzantineClients::Create(config.attack, clients, config.seed));
  return step;
}

absl::StatusOr<ClientWorkspace> ClientStep::NewWorkspace() const {
  ClientWorkspace w;
  TRIB_ASSIGN_OR_RETURN(w.trainer, LocalTrainer::Create(config_.model, train_));
  TRIB_ASSIGN_OR_RETURN(w.delta, ModelState::Zeros(layout_));
  w.correction = w.delta;
  w.personal = w.delta;
  w.control_delta = w.delta;
  if (small_slice_) {
    TRIB_ASSIGN_OR_RETURN(w.small_trainer, LocalTrainer::Create(small_spec_, train_));
    TRIB_ASSIGN_OR_RETURN(w.small_model, ModelState::Zeros(small_slice_->narrow_layout()));
    w.small_delta = w.small_model;
  }
  return w;
}

const ModelState& ClientStep::PersonalModel(const ModelState& global, const ClientMemory& memory,
                                            ModelState& scratch) const {
  if (!local_layers_.any()) return global;
  return tributary::PersonalModel(global, local_layers_, memory.local, initial_local_, scratch);
}

absl::StatusOr<ClientStepResult> ClientStep::Run(uint32_t client, const ClientTaskInputs& task,
                                                 const ModelState& public_model,
                                                 const TensorDataset& data,
                                                 std::span<const uint32_t> examples,
                                                 ClientMemory& memory,
                                                 ClientWorkspace& workspace) const {
  const uint64_t seed = config_.seed;
  const int round = task.round;
  if (task.server_control != nullptr) {
    PrepareControlCorrection(*task.server_control, memory.control, workspace.correction);
  }
  ClientStepResult out;
  out.small = is_small(client);
  ModelState& trained = out.small ? workspace.small_delta : workspace.delta;
  const ModelState& start_model =
      out.small ? ExtractSlice(public_model, *small_slice_, workspace.small_model)
                : PersonalModel(public_model, memory, workspace.personal);
  LocalTrainer& trainer = out.small ? *workspace.small_trainer : *workspace.trainer;
  const auto train_start = std::chrono::steady_clock::now();
  TRIB_ASSIGN_OR_RETURN(
      out.train, trainer.Train(start_model, data, examples,
                               DeriveSeed(seed, round, client, RngPurpose::kLocalShuffle), &trained,
                               task.server_control != nullptr ? &workspace.correction : nullptr,
                               config_.train.keep_optimizer_state ? &memory.optimizer : nullptr));
  ClientReport& report = out.upload.report;
  report = ClientReport{
      .client = client,
      .round = round,
      .num_examples = out.train.num_examples,
      .mean_loss = out.train.mean_loss,
      .train_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - train_start).count(),
      .examples_processed = out.train.examples_processed};
  if (byzantine_.is_attacker(client)) {
    byzantine_.Attack(trained.flat(), DeriveSeed(seed, round, client, RngPurpose::kAttack));
  }
  // Only the shared part travels; the client keeps its trained local layers.
  std::span<const float> upload = trained.flat();
  std::span<const TensorSpec> upload_layout = trained.specs();
  std::vector<float> shared;
  if (local_layers_.any()) {
    KeepLocalLayers(workspace.delta, local_layers_, initial_local_, memory.local);
    local_layers_.GatherShared(workspace.delta.flat(), &shared);
    upload = shared;
    upload_layout = local_layers_.shared_layout();
  }
  const CodecContext codec_context{.seed = DeriveSeed(seed, round, client, RngPurpose::kCodec),
                                   .layout = upload_layout,
                                   .state = &memory.codec,
                                   .ratio_scale = task.ratio_scale};
  if (config_.uplink_error_feedback) {
    TRIB_ASSIGN_OR_RETURN(out.upload.update,
                          EncodeWithErrorFeedback(*uplink_, upload, codec_context));
  } else {
    out.upload.update = uplink_->Encode(upload, codec_context);
  }
  if (task.server_control != nullptr) {
    TRIB_ASSIGN_OR_RETURN(
        out.upload.control,
        SendControlDelta(*uplink_, *task.server_control, workspace.delta, out.train.steps,
                         ScaffoldStepSize(config_.train),
                         DeriveSeed(seed, round, client, RngPurpose::kControlCodec), memory.control,
                         workspace.control_delta));
  }
  return out;
}

}  // namespace tributary
