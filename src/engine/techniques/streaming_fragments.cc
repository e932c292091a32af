#include "engine/techniques/streaming_fragments.h"

#include <atomic>

#include "common/status_util.h"
#include "compress/pipeline.h"
#include "privacy/privacy_spec.h"
#include "secagg/secagg_round.h"

namespace tributary {
namespace {

// A worker's own model, carried from round to round.
struct WorkerModel : TechniqueState {
  std::vector<float> values;  // empty until its first round
  int last_round = 0;         // the round it last trained
};

struct StartScratch : TechniqueState {
  ModelState start;  // the worker's model, handed to the trainer
};

class StreamingFragments final : public Technique {
 public:
  StreamingFragments(const StreamingOptions& options, const ModelState& global)
      : options_(options), zeros_(global.ZerosLike()) {
    const size_t n = global.flat().size();
    for (int p = 0; p < options_.fragments; ++p) {
      const ModelSpan range = Fragment(n, options_.fragments, p);
      layouts_.push_back({TensorSpec{.name = "fragment",
                                     .shape = {static_cast<int64_t>(range.end - range.begin)}}});
      std::vector<uint32_t>& indices = indices_.emplace_back();
      for (size_t i = range.begin; i < range.end; ++i) indices.push_back(static_cast<uint32_t>(i));
    }
  }
  std::string_view name() const override { return "streaming_fragments"; }

  std::unique_ptr<TechniqueState> NewClientState() const override {
    return std::make_unique<WorkerModel>();
  }
  std::unique_ptr<TechniqueState> CopyClientState(const TechniqueState& state) const override {
    return std::make_unique<WorkerModel>(static_cast<const WorkerModel&>(state));
  }
  absl::StatusOr<std::unique_ptr<TechniqueState>> NewWorkerScratch(
      const TrainOptions& train) const override {
    auto scratch = std::make_unique<StartScratch>();
    scratch->start = zeros_;
    return std::unique_ptr<TechniqueState>(std::move(scratch));
  }

  absl::Status BeforeTrain(ClientRound& round) const override {
    auto& worker = static_cast<WorkerModel&>(*round.memory);
    const int r = round.task->round;
    std::span<const float> global = round.public_model->flat();
    if (worker.values.empty() || r != worker.last_round + 1) {
      worker.values.assign(global.begin(), global.end());  // first round, or one was missed
    } else {
      // The fragment whose new global value this worker merges now: the one it uploaded last
      // round, or with overlap the round before (last round's inner steps ran meanwhile).
      const int synced = options_.overlap ? r - 2 : r - 1;
      if (synced >= 1) {
        const ModelSpan f = Fragment(global.size(), options_.fragments,
                                     FragmentOfRound(synced, options_.fragments));
        const float own = options_.overlap ? static_cast<float>(options_.mixing) : 0.0f;
        for (size_t i = f.begin; i < f.end; ++i) {
          worker.values[i] = own * worker.values[i] + (1.0f - own) * global[i];
        }
      }
    }
    ModelState& start = static_cast<StartScratch&>(*round.scratch).start;
    std::copy(worker.values.begin(), worker.values.end(), start.flat().begin());
    round.start_model = &start;
    return absl::OkStatus();
  }

  absl::Status AfterTrain(ClientRound& round) const override {
    auto& worker = static_cast<WorkerModel&>(*round.memory);
    std::span<const float> trained = round.trained->flat();
    if (round.upload.size() != worker.values.size() || trained.size() != worker.values.size()) {
      return absl::FailedPreconditionError(
          "strategy.fragments needs the whole model's update (no local layers, heterofl or "
          "attack shaping it)");
    }
    for (size_t i = 0; i < trained.size(); ++i) worker.values[i] += trained[i];
    worker.last_round = round.task->round;
    // The negated outer gradient of this round's fragment: the worker's fragment minus the
    // global fragment of its previous synchronization (unchanged in the public model since).
    std::span<const float> global = round.public_model->flat();
    const int p = FragmentOfRound(round.task->round, options_.fragments);
    const ModelSpan f = Fragment(global.size(), options_.fragments, p);
    round.upload_buffer.resize(f.end - f.begin);
    for (size_t i = f.begin; i < f.end; ++i) {
      round.upload_buffer[i - f.begin] = worker.values[i] - global[i];
    }
    round.upload = round.upload_buffer;
    round.upload_layout = layouts_[p];
    return absl::OkStatus();
  }

  void AdjustStrategy(StrategySpec& spec) const override { spec.mask_aware = true; }
  std::optional<ModelSpan> DownlinkSpan(int round, size_t n) const override {
    return Fragment(n, options_.fragments, FragmentOfRound(round, options_.fragments));
  }
  void OnRoundStart(std::span<const uint32_t> cohort, RoundMetrics& metrics) override {
    round_.store(metrics.round);
  }

  std::optional<absl::Status> DecodeUpdate(uint32_t client, const Pipeline& uplink,
                                           const Payload& payload, ModelState& scratch,
                                           std::vector<uint32_t>& sent,
                                           ClientUpdate& update) const override {
    const int p = FragmentOfRound(round_.load(), options_.fragments);
    const std::vector<uint32_t>& indices = indices_[p];
    absl::StatusOr<Update> decoded = uplink.Decode(payload, indices.size(), layouts_[p]);
    if (!decoded.ok()) return decoded.status();
    std::span<float> full = scratch.flat();
    std::fill(full.begin(), full.end(), 0.0f);
    std::span<float> fragment = full.subspan(indices.front(), indices.size());
    decoded->AddTo(fragment);
    if (decoded->sparse) {
      sent.clear();
      for (uint32_t i : decoded->indices) sent.push_back(indices.front() + i);
      update.sent = &sent;
    } else {
      update.sent = &indices;
    }
    return absl::OkStatus();
  }

 private:
  StreamingOptions options_;
  ModelState zeros_;
  std::vector<std::vector<TensorSpec>> layouts_;  // by fragment
  std::vector<std::vector<uint32_t>> indices_;    // by fragment: its coordinates
  std::atomic<int> round_{0};                     // the round being aggregated
};

}  // namespace

ModelSpan Fragment(size_t n, int fragments, int p) {
  return {.begin = n * p / fragments, .end = n * (p + 1) / fragments};
}

int FragmentOfRound(int round, int fragments) { return (round - 1) % fragments; }

std::vector<ConfigField<ExperimentConfig>> StreamingFields() {
  using C = ExperimentConfig;
  const auto options = [](C& c) -> StreamingOptions& {
    return c.plugins.Mutable<StreamingOptions>();
  };
  return {
      IntegerField<C>(
          "strategy.fragments",
          "Streaming DiLoCo: synchronize one of N equal slices of the flat parameter vector per "
          "round, in turn (each every N rounds of train.steps inner steps; the paper groups "
          "transformer blocks instead; 0: off)",
          [=](C& c) -> int& { return options(c).fragments; }, 0, 4096),
      BoolField<C>("strategy.fragment_overlap",
                   "Streaming DiLoCo: merge a synchronized fragment one round later, its "
                   "transfers overlapping that round's inner steps (tau = train.steps; the paper "
                   "overlaps a few steps)",
                   [=](C& c) -> bool& { return options(c).overlap; }),
      FloatField<C>("strategy.fragment_mixing",
                    "Streaming DiLoCo with overlap: the worker's own share of a merged fragment",
                    [=](C& c) -> double& { return options(c).mixing; }),
  };
}

absl::Status ValidateStreaming(const ExperimentConfig& config) {
  const StreamingOptions& o = config.plugins.Get<StreamingOptions>();
  if (!(o.mixing >= 0.0 && o.mixing < 1.0)) {
    return absl::InvalidArgumentError("strategy.fragment_mixing must be in [0, 1)");
  }
  if (o.fragments == 0) {
    if (o.overlap) {
      return absl::InvalidArgumentError("strategy.fragment_overlap needs strategy.fragments");
    }
    return absl::OkStatus();
  }
  if (o.fragments == 1) {
    return absl::InvalidArgumentError(
        "strategy.fragments = 1 is plain DiLoCo: leave it 0, or split the model into 2 or more");
  }
  if (config.strategy.name != "diloco") {
    return absl::InvalidArgumentError(
        "strategy.fragments (Streaming DiLoCo) needs strategy.name = \"diloco\"");
  }
  if (!config.train.keep_optimizer_state) {
    return absl::InvalidArgumentError(
        "strategy.fragments: Streaming DiLoCo's workers train on without restarting; set "
        "train.keep_optimizer_state = true");
  }
  if (config.compress.error_feedback) {
    return absl::InvalidArgumentError(
        "strategy.fragments does not combine with compress.error_feedback (each round uploads "
        "another fragment, so a residual would land on the wrong coordinates)");
  }
  if (config.run.clients_per_round != config.data.partition.num_clients) {
    return absl::InvalidArgumentError(
        "strategy.fragments: Streaming DiLoCo's workers all train every round; set "
        "run.clients_per_round = data.num_clients");
  }
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Pipeline> uplink, Pipeline::Parse(config.compress.uplink));
  if (uplink->sketch() != nullptr || config.plugins.Get<SecAggSpec>().enabled ||
      config.plugins.Get<PrivacySpec>().mode != PrivacyMode::kOff) {
    return absl::InvalidArgumentError(
        "strategy.fragments does not combine with a sketch uplink, secure aggregation or "
        "differential privacy (they aggregate the whole model)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Technique>> CreateStreaming(const ExperimentConfig& config,
                                                           const ModelState& global) {
  const StreamingOptions& options = config.plugins.Get<StreamingOptions>();
  if (options.fragments == 0) return nullptr;
  if (global.flat().size() < static_cast<size_t>(options.fragments)) {
    return absl::InvalidArgumentError("strategy.fragments exceeds the model's parameter count");
  }
  return std::make_unique<StreamingFragments>(options, global);
}

}  // namespace tributary
