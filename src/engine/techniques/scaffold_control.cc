#include "engine/techniques/scaffold_control.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "tensor/order_invariant_sum.h"

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
  ScaffoldControl(const TrainOptions& train, const ModelState& global, int64_t population)
      : train_(train),
        step_size_(ScaffoldStepSize(train)),
        control_(global.ZerosLike()),
        population_(population),
        control_sum_(global.num_elements()) {}
  std::string_view name() const override { return "scaffold"; }

  std::unique_ptr<TechniqueState> NewClientState() const override {
    return std::make_unique<ClientControl>();
  }
  std::unique_ptr<TechniqueState> CopyClientState(const TechniqueState& state) const override {
    return std::make_unique<ClientControl>(static_cast<const ClientControl&>(state));
  }
  absl::StatusOr<std::unique_ptr<TechniqueState>> NewWorkerScratch(
      const TrainOptions& train) const override {
    auto scratch = std::make_unique<ControlScratch>();
    scratch->correction = control_.ZerosLike();
    scratch->control_delta = control_.ZerosLike();
    return std::unique_ptr<TechniqueState>(std::move(scratch));
  }

  absl::Status BeforeTrain(ClientRound& round) const override {
    const ModelState* c = round.task->server_state;
    if (c == nullptr || !c->SameLayout(control_)) {
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

  // Server side: c, and the sum of the accepted clients' dc_i this round.
  const ModelState* ServerState() const override { return &control_; }
  void OnRoundStart(std::span<const uint32_t> cohort, RoundMetrics& metrics) override {
    // Restored from a checkpoint before the first round of this process.
    if (carried_control_.size() == control_.num_elements()) {
      std::copy(carried_control_.begin(), carried_control_.end(), control_.flat().begin());
    }
    control_sum_.Reset();
  }
  bool reads_attachment() const override { return true; }
  absl::Status DecodeAttachment(const ClientUpload& upload, const Pipeline& uplink,
                                ModelState& buffer) const override {
    if (upload.attachment.empty()) {
      return absl::InvalidArgumentError("a SCAFFOLD upload needs its control variate change");
    }
    TRIB_ASSIGN_OR_RETURN(Update decoded, uplink.Decode(upload.attachment, control_.num_elements(),
                                                        control_.specs()));
    buffer = control_.ZerosLike();
    decoded.AddTo(buffer.flat());
    // Checked before the strategy sees the update, so that a rejected upload leaves both the
    // model's and the control's sums untouched (the checks OrderInvariantSum::Add makes).
    for (float v : buffer.flat()) {
      if (!(std::fabs(v) < OrderInvariantSum::kMaxValue)) {
        return absl::InvalidArgumentError(
            absl::StrCat("client ", upload.report.client,
                         ": control variate change is not finite or too large"));
      }
    }
    return absl::OkStatus();
  }
  absl::Status OnAccepted(const ClientUpload& upload, const ModelState& attachment) override {
    return control_sum_.Add(attachment.flat(), 1.0 / static_cast<double>(population_));
  }
  // c += sum(dc_i) / N over the N clients of the federation, when the model stepped.
  void OnRoundEnd(bool stepped, RoundMetrics& metrics) override {
    if (!stepped) return;
    std::span<float> c = control_.flat();
    std::span<const double> sum = control_sum_.sum();
    for (size_t i = 0; i < c.size(); ++i) {
      c[i] = static_cast<float>(static_cast<double>(c[i]) + sum[i]);
    }
    carried_control_.assign(c.begin(), c.end());
  }
  std::vector<std::vector<float>*> carried_state() override { return {&carried_control_}; }

 private:
  TrainOptions train_;
  double step_size_;
  ModelState control_;  // c (server side)
  int64_t population_;
  OrderInvariantSum control_sum_;
  std::vector<float> carried_control_;  // c after the last round, for checkpoints
};

}  // namespace

const ModelState* ScaffoldClientControl(const TechniqueState& state) {
  const auto* client = dynamic_cast<const ClientControl*>(&state);
  return client != nullptr && client->control.num_elements() > 0 ? &client->control : nullptr;
}

absl::StatusOr<std::unique_ptr<Technique>> CreateScaffoldControl(const ExperimentConfig& config,
                                                                 const ModelState& global) {
  if (config.strategy.name != "scaffold") return nullptr;
  if (config.train.optimizer == OptimizerKind::kSgd && config.train.momentum > 0.0) {
    LogWarning(
        "SCAFFOLD with SGD momentum %.2f diverged in our runs (docs/strategies.md); the paper "
        "uses train.momentum = 0",
        config.train.momentum);
  }
  return std::make_unique<ScaffoldControl>(config.train, global, config.data.partition.num_clients);
}

}  // namespace tributary
