#include "engine/client_step.h"

#include <chrono>

#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "compress/error_feedback.h"
#include "engine/secure_aggregation.h"
#include "engine/technique_registry.h"

namespace tributary {

absl::StatusOr<std::unique_ptr<ClientStep>> ClientStep::Create(const ExperimentConfig& config,
                                                               const ModelState& global) {
  auto step = std::unique_ptr<ClientStep>(new ClientStep());
  step->config_ = config;
  TRIB_ASSIGN_OR_RETURN(step->uplink_, Pipeline::Parse(config.compress.uplink));
  step->layout_ = global.specs();
  TRIB_ASSIGN_OR_RETURN(step->techniques_, CreateTechniques(config, global));
  step->train_ = config.train;
  for (const auto& technique : step->techniques_) technique->AdjustTrainOptions(step->train_);
  return step;
}

absl::StatusOr<ClientWorkspace> ClientStep::NewWorkspace() const {
  ClientWorkspace w;
  TRIB_ASSIGN_OR_RETURN(w.trainer, LocalTrainer::Create(config_.model, train_));
  TRIB_ASSIGN_OR_RETURN(w.delta, ModelState::Zeros(layout_));
  for (const auto& technique : techniques_) {
    TRIB_ASSIGN_OR_RETURN(std::unique_ptr<TechniqueState> scratch,
                          technique->NewWorkerScratch(train_));
    w.techniques.push_back(std::move(scratch));
  }
  return w;
}

const ModelState& ClientStep::PersonalModel(const ModelState& global, const ClientMemory& memory,
                                            ClientWorkspace& workspace) const {
  for (size_t t = 0; t < techniques_.size(); ++t) {
    const TechniqueState* state = memory.techniques.empty() ? nullptr : memory.techniques[t].get();
    if (const ModelState* personal =
            techniques_[t]->PersonalModel(global, state, workspace.techniques[t].get())) {
      return *personal;
    }
  }
  return global;
}

bool ClientStep::KeepsClientState() const {
  if (train_.keep_optimizer_state || config_.compress.error_feedback) return true;
  // PowerSGD warm-starts each matrix's Q from the client's previous round.
  if (config_.compress.uplink.find("powersgd") != std::string::npos) return true;
  return TechniquesKeepClientState();
}

bool ClientStep::TechniquesKeepClientState() const {
  for (const auto& technique : techniques_) {
    if (technique->NewClientState() != nullptr) return true;
  }
  return false;
}

ClientMemory ClientStep::CopyForRollback(const ClientMemory& memory) const {
  ClientMemory copy{.codec = memory.codec};
  for (size_t t = 0; t < memory.techniques.size(); ++t) {
    copy.techniques.push_back(
        memory.techniques[t] ? techniques_[t]->CopyClientState(*memory.techniques[t]) : nullptr);
  }
  return copy;
}

void ClientStep::Settle(bool accepted, ClientMemory&& before, ClientMemory& memory) const {
  if (accepted) return;
  memory.codec = std::move(before.codec);
  memory.techniques = std::move(before.techniques);
}

absl::StatusOr<ClientStepResult> ClientStep::Run(uint32_t client, const ClientTaskInputs& task,
                                                 const ModelState& public_model,
                                                 const TensorDataset* data,
                                                 std::span<const uint32_t> examples,
                                                 ClientMemory& memory,
                                                 ClientWorkspace& workspace) const {
  if (memory.techniques.empty()) {
    for (const auto& technique : techniques_) {
      memory.techniques.push_back(technique->NewClientState());
    }
  }
  ClientRound round{.client = client,
                    .run_seed = config_.run.seed,
                    .task = &task,
                    .public_model = &public_model,
                    .start_model = &public_model,
                    .trainer = workspace.trainer.get(),
                    .trained = &workspace.delta};
  // Each hook sees its own technique's state and buffers.
  auto with_technique = [&](size_t t) -> ClientRound& {
    round.memory = memory.techniques[t].get();
    round.scratch = workspace.techniques[t].get();
    return round;
  };
  for (size_t t = 0; t < techniques_.size(); ++t) {
    TRIB_RETURN_IF_ERROR(techniques_[t]->BeforeTrain(with_technique(t)));
  }
  const auto train_start = std::chrono::steady_clock::now();
  if (workspace.external_train) {
    if (round.trainer != workspace.trainer.get() || round.gradient_correction != nullptr ||
        train_.proximal_mu > 0.0) {
      return absl::FailedPreconditionError(
          "this run's techniques change how clients train (fedprox, scaffold or heterofl), which "
          "a client with its own train function cannot follow");
    }
    TRIB_ASSIGN_OR_RETURN(round.train, workspace.external_train(*round.start_model, round.trained));
  } else {
    if (data == nullptr) return absl::InternalError("client step without data or a train function");
    TRIB_ASSIGN_OR_RETURN(
        round.train,
        round.trainer->Train(
            *round.start_model, *data, examples,
            DeriveSeed(config_.run.seed, task.round, client, RngPurpose::kLocalShuffle),
            round.trained, round.gradient_correction,
            config_.train.keep_optimizer_state ? &memory.optimizer : nullptr));
  }
  ClientStepResult out;
  out.train = round.train;
  out.upload.report = ClientReport{
      .client = client,
      .round = task.round,
      .num_examples = round.train.num_examples,
      .mean_loss = round.train.mean_loss,
      .train_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - train_start).count(),
      .examples_processed = round.train.examples_processed};
  round.upload = round.trained->flat();
  round.upload_layout = round.trained->specs();
  for (size_t t = 0; t < techniques_.size(); ++t) {
    TRIB_RETURN_IF_ERROR(techniques_[t]->AfterTrain(with_technique(t)));
  }
  // Under secure aggregation every client encodes with the round's shared seed (random-k keeps
  // the same coordinates everywhere) and unscaled (SecureInputPattern).
  const bool secure = config_.plugins.Get<SecAggSpec>().enabled;
  const CodecContext codec_context{
      .seed = secure ? SecAggCodecSeed(config_.run.seed, task.round)
                     : DeriveSeed(config_.run.seed, task.round, client, RngPurpose::kCodec),
      .layout = round.upload_layout,
      .state = &memory.codec,
      .ratio_scale = task.ratio_scale,
      .contract = secure};
  if (config_.compress.error_feedback) {
    TRIB_ASSIGN_OR_RETURN(out.upload.update,
                          EncodeWithErrorFeedback(*uplink_, round.upload, codec_context));
  } else {
    out.upload.update = uplink_->Encode(round.upload, codec_context);
  }
  for (size_t t = 0; t < techniques_.size(); ++t) {
    TRIB_RETURN_IF_ERROR(techniques_[t]->AfterEncode(with_technique(t), *uplink_, out.upload));
  }
  out.compute_scale = round.compute_scale;
  return out;
}

absl::StatusOr<std::vector<float>> ClientStep::SecureInput(const ClientUpload& upload) const {
  size_t dimension = 0;
  for (const TensorSpec& spec : layout_) dimension += static_cast<size_t>(spec.NumElements());
  if (uplink_->sketch() != nullptr) return uplink_->DecodeSketchTable(upload.update, dimension);
  TRIB_ASSIGN_OR_RETURN(Update update, uplink_->Decode(upload.update, dimension, layout_));
  // The values at the coordinates of SecureInputPattern, in its order.
  return std::move(update.values);
}

}  // namespace tributary
