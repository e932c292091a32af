// Technique: an optional part of a round that is neither a codec nor a strategy (SCAFFOLD's
// control variates, HeteroFL's model slices, local layers, Byzantine attacks, bandwidth-aware
// top-k, Deep Gradient Compression's options, the sketch's server-side error table). It hooks the
// client step (client_step.h) and/or the server's side of the round (round_engine.h); both call the
// hooks of every technique the config enables, in the registry's order (technique_registry.cc), and
// know none of them by name. A technique keeps its per-client state in ClientMemory and its
// per-worker buffers in ClientWorkspace, in the slot of its position.
//
// Thread-safety: client hooks run concurrently for distinct clients (each with its own memory
// and workspace); DecodeUpdate, DecodeAttachment and the aggregator's Accumulate concurrently for
// distinct uploads, OnAccepted one at a time; the other server hooks from the engine's Run()
// thread.
#ifndef TRIBUTARY_ENGINE_TECHNIQUE_H_
#define TRIBUTARY_ENGINE_TECHNIQUE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "aggregate/strategy.h"
#include "compress/pipeline.h"
#include "engine/client_channel.h"
#include "engine/downlink.h"
#include "report/round_metrics.h"
#include "tensor/model_state.h"
#include "train/local_trainer.h"
#include "train/train_options.h"

namespace tributary {

// A technique's own state, per client or per worker; each technique knows its concrete type.
struct TechniqueState {
  virtual ~TechniqueState() = default;
};

// What the server sends along with the model for a round.
struct ClientTaskInputs {
  int round = 0;
  const ModelState* server_state = nullptr;  // a technique's broadcast state (SCAFFOLD's c)
  double ratio_scale = 1.0;                  // scales a top-k count (CodecContext)
  double clip_norm = 0.0;  // the L2 bound of the update (differential privacy); 0: none
};

// One client's round as the client-side hooks see and shape it.
struct ClientRound {
  uint32_t client = 0;
  uint64_t run_seed = 0;
  const ClientTaskInputs* task = nullptr;
  const ModelState* public_model = nullptr;  // as downloaded
  TechniqueState* memory = nullptr;          // this technique's per-client state, if it has one
  TechniqueState* scratch = nullptr;         // this technique's per-worker buffers, if any
  // Before training, hooks may replace the defaults: the public model, the full model's
  // trainer, the workspace's delta buffer.
  const ModelState* start_model = nullptr;
  LocalTrainer* trainer = nullptr;
  ModelState* trained = nullptr;  // receives trained - start
  const ModelState* gradient_correction = nullptr;
  double compute_scale = 1.0;  // cost of this client's model relative to the full one
  LocalTrainResult train;      // after training
  // What the uplink codec encodes: `*trained` unless a hook narrows it (into `upload_buffer`).
  std::span<const float> upload;
  std::span<const TensorSpec> upload_layout;
  std::vector<float> upload_buffer;

  // `upload`, writable: it views either `upload_buffer` or `*trained`.
  std::span<float> writable_upload() {
    float* data =
        upload.data() == upload_buffer.data() ? upload_buffer.data() : trained->flat().data();
    return {data, upload.size()};
  }
};

// Aggregation done by a technique in place of the strategy (the sketch averages tables).
class UploadAggregator {
 public:
  virtual ~UploadAggregator() = default;
  virtual absl::Status Init(int64_t expected_examples) = 0;
  // Thread-safe. `weight`: the upload's in the round's mean (strategy.weighting).
  virtual absl::Status Accumulate(const ClientUpload& upload, int64_t weight, size_t dimension) = 0;
  virtual absl::StatusOr<ModelState> Finalize(ModelState global) = 0;
  // Secure aggregation: the mean of the round's `count` clients' secure inputs (the values
  // SecureInputPattern lists) in place of their uploads. Refused by aggregators that need each
  // upload.
  virtual absl::Status AccumulateSecureMean(std::span<const float> mean, int64_t count) {
    return absl::UnimplementedError("this aggregator needs each client's upload");
  }
};

class Technique {
 public:
  virtual ~Technique() = default;
  virtual std::string_view name() const = 0;

  // --- Client side ---
  // A fresh per-client state and per-worker buffers (null: none); `train`: the local training
  // options every technique adjusted.
  virtual std::unique_ptr<TechniqueState> NewClientState() const { return nullptr; }
  virtual absl::StatusOr<std::unique_ptr<TechniqueState>> NewWorkerScratch(
      const TrainOptions& train) const {
    return std::unique_ptr<TechniqueState>();
  }
  // A copy of a client's state, to roll back a round the server never acknowledged.
  virtual std::unique_ptr<TechniqueState> CopyClientState(const TechniqueState& state) const {
    return nullptr;
  }
  virtual absl::Status BeforeTrain(ClientRound& round) const { return absl::OkStatus(); }
  virtual absl::Status AfterTrain(ClientRound& round) const { return absl::OkStatus(); }
  // May attach more to the upload (SCAFFOLD's control variate change).
  virtual absl::Status AfterEncode(ClientRound& round, const Pipeline& uplink,
                                   ClientUpload& upload) const {
    return absl::OkStatus();
  }
  // The model a client evaluates with (the global model with its own local layers), built in
  // its scratch; null: the global model.
  virtual const ModelState* PersonalModel(const ModelState& global, const TechniqueState* memory,
                                          TechniqueState* scratch) const {
    return nullptr;
  }

  // --- Server side ---
  // Before the strategy is created: what the technique needs of it (HeteroFL: mask-aware
  // averaging).
  virtual void AdjustStrategy(StrategySpec& spec) const {}
  // The coordinates a round's downlink publishes, when not the whole model (Streaming DiLoCo:
  // the fragment synchronized in `round`; the rest of the public model is not read until its own
  // fragment's turn). `n`: the model's size.
  virtual std::optional<ModelSpan> DownlinkSpan(int round, size_t n) const { return std::nullopt; }
  // Once the strategy exists: may wrap it (differential privacy clips, noises and averages the
  // updates before the strategy's server step sees their mean).
  virtual std::unique_ptr<Strategy> WrapStrategy(std::unique_ptr<Strategy> strategy) {
    return strategy;
  }
  // Why the run must stop before `round` (a privacy budget), or nullopt to go on.
  virtual std::optional<std::string> StopBefore(int round) const { return std::nullopt; }
  // The clip norm clients bound their update with this round, or nullopt.
  virtual std::optional<double> ClipNorm() const { return std::nullopt; }
  virtual void OnRoundStart(std::span<const uint32_t> cohort, RoundMetrics& metrics) {}
  // Multiplies each connected client's top-k count scale for `round`, given the round's uplink
  // bandwidths (bit/s; 0: unknown).
  virtual void ScaleRatios(int round, std::span<const double> uplink_bps,
                           std::span<double> scales) const {}
  // The state every client needs with the model this round (SCAFFOLD's c), or null.
  virtual const ModelState* ServerState() const { return nullptr; }
  // Decodes `payload`, an update of `client`, into `scratch` (the global model's layout) when
  // this technique shapes that client's uploads; sets `update.sent` (pointing into `sent`) when
  // the update covers only part of the model. nullopt: not this technique's upload.
  virtual std::optional<absl::Status> DecodeUpdate(uint32_t client, const Pipeline& uplink,
                                                   const Payload& payload, ModelState& scratch,
                                                   std::vector<uint32_t>& sent,
                                                   ClientUpdate& update) const {
    return std::nullopt;
  }
  // Whether this technique reads the uploads' attachment (ClientUpload::attachment).
  virtual bool reads_attachment() const { return false; }
  // Decodes and checks what an upload attaches (SCAFFOLD's control variate change) into
  // `buffer`, before the strategy sees the update; an error rejects the upload.
  virtual absl::Status DecodeAttachment(const ClientUpload& upload, const Pipeline& uplink,
                                        ModelState& buffer) const {
    return absl::OkStatus();
  }
  // After the strategy accepted the update, with the decoded attachment. Called under the
  // engine's aggregation lock, in any order of uploads.
  virtual absl::Status OnAccepted(const ClientUpload& upload, const ModelState& attachment) {
    return absl::OkStatus();
  }
  // After the strategy's Finalize (`stepped`) or a round below quorum; may add to the round's
  // metrics.
  virtual void OnRoundEnd(bool stepped, RoundMetrics& metrics) {}
  // Local training options (FedProx's proximal term).
  virtual void AdjustTrainOptions(TrainOptions& train) const {}
  // Aggregates uploads in place of the strategy, or null.
  virtual UploadAggregator* aggregator() { return nullptr; }
  // The small capacity group (HeteroFL), for the metrics.
  virtual bool IsSmallClient(uint32_t client) const { return false; }
  // Buffers carried from round to round, checkpointed with the strategy's.
  virtual std::vector<std::vector<float>*> carried_state() { return {}; }
};

using TechniqueSet = std::vector<std::unique_ptr<Technique>>;

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_TECHNIQUE_H_
