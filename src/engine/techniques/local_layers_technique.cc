#include "engine/techniques/local_layers_technique.h"

#include "common/status_util.h"
#include "compress/pipeline.h"
#include "engine/local_layers.h"
#include "model/model_spec.h"

namespace tributary {
namespace {

// A client's model: the shared model with its own local layers (their initial values until it
// first trains), built in `scratch`.
const ModelState& PersonalModel(const ModelState& shared, const LocalLayers& layers,
                                const std::vector<float>& client_local,
                                const std::vector<float>& initial_local, ModelState& scratch) {
  std::copy(shared.flat().begin(), shared.flat().end(), scratch.flat().begin());
  layers.ScatterLocal(client_local.empty() ? initial_local : client_local, scratch.flat());
  return scratch;
}

// After training, the client keeps its local layers as trained (start + delta).
void KeepLocalLayers(const ModelState& delta, const LocalLayers& layers,
                     const std::vector<float>& initial_local, std::vector<float>& client_local) {
  std::vector<float> change;
  layers.GatherLocal(delta.flat(), &change);
  if (client_local.empty()) client_local = initial_local;
  for (size_t j = 0; j < change.size(); ++j) client_local[j] += change[j];
}

struct ClientLocal : TechniqueState {
  std::vector<float> values;  // its local layers; empty until it first trains
};

struct PersonalScratch : TechniqueState {
  ModelState personal;  // the public model with a client's local layers
};

class LocalLayersTechnique final : public Technique {
 public:
  LocalLayersTechnique(LocalLayers layers, const ModelState& global)
      : layers_(std::move(layers)), zeros_(global.ZerosLike()) {
    layers_.GatherLocal(global.flat(), &initial_local_);
  }
  std::string_view name() const override { return "local_layers"; }

  std::unique_ptr<TechniqueState> NewClientState() const override {
    return std::make_unique<ClientLocal>();
  }
  std::unique_ptr<TechniqueState> CopyClientState(const TechniqueState& state) const override {
    return std::make_unique<ClientLocal>(static_cast<const ClientLocal&>(state));
  }
  absl::StatusOr<std::unique_ptr<TechniqueState>> NewWorkerScratch(
      const TrainOptions& train) const override {
    auto scratch = std::make_unique<PersonalScratch>();
    scratch->personal = zeros_;
    return std::unique_ptr<TechniqueState>(std::move(scratch));
  }

  absl::Status BeforeTrain(ClientRound& round) const override {
    round.start_model = PersonalModel(*round.public_model, round.memory, round.scratch);
    return absl::OkStatus();
  }

  absl::Status AfterTrain(ClientRound& round) const override {
    // Only the shared part travels; the client keeps its trained local layers.
    KeepLocalLayers(*round.trained, layers_, initial_local_,
                    static_cast<ClientLocal&>(*round.memory).values);
    layers_.GatherShared(round.trained->flat(), &round.upload_buffer);
    round.upload = round.upload_buffer;
    round.upload_layout = layers_.shared_layout();
    return absl::OkStatus();
  }

  const ModelState* PersonalModel(const ModelState& global, const TechniqueState* memory,
                                  TechniqueState* scratch) const override {
    static const std::vector<float> kNeverTrained;
    const std::vector<float>& local =
        memory != nullptr ? static_cast<const ClientLocal*>(memory)->values : kNeverTrained;
    return &tributary::PersonalModel(global, layers_, local, initial_local_,
                                     static_cast<PersonalScratch*>(scratch)->personal);
  }

  std::optional<absl::Status> DecodeUpdate(uint32_t client, const Pipeline& uplink,
                                           const Payload& payload, ModelState& scratch,
                                           std::vector<uint32_t>& sent,
                                           ClientUpdate& update) const override {
    absl::StatusOr<Update> decoded =
        uplink.Decode(payload, layers_.shared_size(), layers_.shared_layout());
    if (!decoded.ok()) return decoded.status();
    std::vector<float> shared(layers_.shared_size(), 0.0f);
    decoded->AddTo(shared);
    layers_.ScatterShared(shared, scratch.flat());
    return absl::OkStatus();
  }

 private:
  LocalLayers layers_;
  ModelState zeros_;
  std::vector<float> initial_local_;  // every client's local layers before it first trains
};

// A torchscript model's buffers kept on each client (model.buffers = local) are local layers.
bool KeepsBuffersLocal(const ExperimentConfig& config) {
  return config.model.name == "torchscript" && config.model.buffers == "local";
}

}  // namespace

std::vector<ConfigField<ExperimentConfig>> LocalLayersFields() {
  return {StringField<ExperimentConfig>(
      "strategy.local_layers", "tensor name prefixes kept on each client, never sent (e.g. fc2)",
      [](ExperimentConfig& c) -> std::string& {
        return c.plugins.Mutable<LocalLayersOptions>().prefixes;
      })};
}

absl::Status ValidateLocalLayers(const ExperimentConfig& config) {
  if (config.plugins.Get<LocalLayersOptions>().prefixes.empty() && !KeepsBuffersLocal(config)) {
    return absl::OkStatus();
  }
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Pipeline> uplink, Pipeline::Parse(config.compress.uplink));
  if (config.strategy.name == "scaffold" || config.strategy.mask_aware ||
      uplink->sketch() != nullptr) {
    return absl::InvalidArgumentError(
        "strategy.local_layers (and model.buffers = local) do not combine with scaffold, "
        "mask_aware or a sketch uplink");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Technique>> CreateLocalLayers(const ExperimentConfig& config,
                                                             const ModelState& global) {
  std::string prefixes = config.plugins.Get<LocalLayersOptions>().prefixes;
  if (KeepsBuffersLocal(config)) {
    TRIB_ASSIGN_OR_RETURN(std::vector<std::string> buffers, ModelBufferNames(config.model));
    for (const std::string& name : buffers) {
      if (!prefixes.empty()) prefixes += ",";
      prefixes += name;
    }
  }
  if (prefixes.empty()) return nullptr;
  TRIB_ASSIGN_OR_RETURN(LocalLayers layers, LocalLayers::Create(global.specs(), prefixes));
  return std::make_unique<LocalLayersTechnique>(std::move(layers), global);
}

}  // namespace tributary
