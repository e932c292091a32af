#include "engine/techniques/scaffold_control.h"

#include <algorithm>

#include "common/log.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"

namespace tributary {
namespace {

// The step size SCAFFOLD divides the client's delta by: with heavy-ball momentum m, SGD's steps
// are about lr / (1 - m) long once the momentum has built up.
double ScaffoldStepSize(const TrainOptions& train) {
  if (train.optimizer == OptimizerKind::kSgd) return train.learning_rate / (1.0 - train.momentum);
  return train.learning_rate;
}

// The gradient correction c - c_i (c_i starts at zero).
void PrepareControlCorrection(const ModelState& server_control, ModelState& client_control,
                              ModelState& correction) {
  if (!client_control.SameLayout(server_control)) client_control = server_control.ZerosLike();
  std::span<const float> c = server_control.flat();
  std::span<const float> ci = client_control.flat();
  std::span<float> out = correction.flat();
  for (size_t i = 0; i < out.size(); ++i) out[i] = c[i] - ci[i];
}

// After K steps of size `step`: dc_i = -c - delta / (K step) goes through the uplink codec; the
// client keeps c_i + the decoded dc_i, so it stays in step with what the server decodes.
absl::StatusOr<Payload> SendControlDelta(const Pipeline& uplink, const ModelState& server_control,
                                         const ModelState& delta, int64_t steps, double step,
                                         uint64_t seed, ModelState& client_control,
                                         ModelState& control_delta) {
  const float inverse = static_cast<float>(1.0 / (static_cast<double>(steps) * step));
  std::span<const float> c = server_control.flat();
  std::span<const float> d = delta.flat();
  std::span<float> dc = control_delta.flat();
  for (size_t i = 0; i < dc.size(); ++i) dc[i] = -c[i] - d[i] * inverse;
  const Payload payload = uplink.Encode(dc, CodecContext{.seed = seed, .layout = delta.specs()});
  TRIB_ASSIGN_OR_RETURN(Update decoded, uplink.Decode(payload, dc.size(), delta.specs()));
  std::fill(dc.begin(), dc.end(), 0.0f);
  decoded.AddTo(dc);
  std::span<float> ci = client_control.flat();
  for (size_t i = 0; i < ci.size(); ++i) ci[i] += dc[i];
  return payload;
}

struct ClientControl : TechniqueState {
  ModelState control;  // c_i; zeros until the client first trains
};

struct ControlScratch : TechniqueState {
  ModelState correction;     // c - c_i
  ModelState control_delta;  // dc_i
};

class ScaffoldControl final : public Technique {
 public:
  ScaffoldControl(const TrainOptions& train, const ModelState& global)
      : train_(train), step_size_(ScaffoldStepSize(train)), zeros_(global.ZerosLike()) {}
  std::string_view name() const override { return "scaffold"; }

  std::unique_ptr<TechniqueState> NewClientState() const override {
    return std::make_unique<ClientControl>();
  }
  std::unique_ptr<TechniqueState> CopyClientState(const TechniqueState& state) const override {
    return std::make_unique<ClientControl>(static_cast<const ClientControl&>(state));
  }
  absl::StatusOr<std::unique_ptr<TechniqueState>> NewWorkerScratch() const override {
    auto scratch = std::make_unique<ControlScratch>();
    scratch->correction = zeros_;
    scratch->control_delta = zeros_;
    return std::unique_ptr<TechniqueState>(std::move(scratch));
  }

  absl::Status BeforeTrain(ClientRound& round) const override {
    const ModelState* c = round.task->server_state;
    if (c == nullptr || !c->SameLayout(zeros_)) {
      return absl::InvalidArgumentError("SCAFFOLD: the task carries no server control variate");
    }
    auto& scratch = static_cast<ControlScratch&>(*round.scratch);
    PrepareControlCorrection(*c, static_cast<ClientControl&>(*round.memory).control,
                             scratch.correction);
    round.gradient_correction = &scratch.correction;
    return absl::OkStatus();
  }

  absl::Status AfterEncode(ClientRound& round, const Pipeline& uplink,
                           ClientUpload& upload) const override {
    auto& scratch = static_cast<ControlScratch&>(*round.scratch);
    TRIB_ASSIGN_OR_RETURN(
        upload.attachment,
        SendControlDelta(
            uplink, *round.task->server_state, *round.trained, round.train.steps, step_size_,
            DeriveSeed(round.run_seed, round.task->round, round.client, RngPurpose::kControlCodec),
            static_cast<ClientControl&>(*round.memory).control, scratch.control_delta));
    return absl::OkStatus();
  }

  void BindStrategy(const Strategy& strategy) override {
    strategy_ = &strategy;
    if (train_.optimizer == OptimizerKind::kSgd && train_.momentum > 0.0) {
      LogWarning(
          "SCAFFOLD with SGD momentum %.2f diverged in our runs "
          "(docs/strategies.md); the paper uses train.momentum = 0",
          train_.momentum);
    }
  }
  const ModelState* ServerState() const override { return strategy_->server_control(); }
  bool reads_attachment() const override { return true; }
  absl::Status CompleteUpdate(const ClientUpload& upload, const Pipeline& uplink,
                              ModelState& buffer, ClientUpdate& update) const override {
    if (upload.attachment.empty()) {
      return absl::InvalidArgumentError("a SCAFFOLD upload needs its control variate change");
    }
    TRIB_ASSIGN_OR_RETURN(Update decoded,
                          uplink.Decode(upload.attachment, zeros_.num_elements(), zeros_.specs()));
    if (!buffer.SameLayout(zeros_)) buffer = zeros_;
    std::fill(buffer.flat().begin(), buffer.flat().end(), 0.0f);
    decoded.AddTo(buffer.flat());
    update.control_delta = &buffer;
    return absl::OkStatus();
  }

 private:
  TrainOptions train_;
  double step_size_;
  ModelState zeros_;  // the model's layout
  const Strategy* strategy_ = nullptr;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Technique>> CreateScaffoldControl(const ExperimentConfig& config,
                                                                 const ModelState& global) {
  if (config.strategy.name != "scaffold") return nullptr;
  return std::make_unique<ScaffoldControl>(config.train, global);
}

}  // namespace tributary
