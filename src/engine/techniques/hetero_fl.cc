#include "engine/techniques/hetero_fl.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "compress/pipeline.h"
#include "engine/dataset_registry.h"
#include "engine/techniques/local_layers_technique.h"
#include "tensor/model_slice.h"

namespace tributary {
namespace {

// round(fraction * clients) clients, chosen by the seed, train the narrower slice.
std::vector<bool> ChooseSmallClients(size_t clients, double fraction, uint64_t seed) {
  std::vector<uint32_t> order(clients);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(DeriveSeed(seed, 0, 0, RngPurpose::kCapacity));
  Shuffle(order.data(), order.size(), rng);
  std::vector<bool> small(clients, false);
  const size_t count = static_cast<size_t>(std::llround(fraction * clients));
  for (size_t i = 0; i < count; ++i) small[order[i]] = true;
  return small;
}

// A small client's model: its slice of the shared model, built in `scratch`.
const ModelState& ExtractSlice(const ModelState& full, const ModelSlice& slice,
                               ModelState& scratch) {
  slice.Extract(full.flat(), scratch.flat());
  return scratch;
}

struct SliceScratch : TechniqueState {
  std::unique_ptr<LocalTrainer> trainer;  // the narrow model's
  ModelState model, delta;                // in the slice's layout
};

class HeteroFl final : public Technique {
 public:
  HeteroFl(ModelSpec small_spec, ModelSlice slice, std::vector<bool> is_small, double width)
      : small_spec_(std::move(small_spec)),
        slice_(std::move(slice)),
        is_small_(std::move(is_small)),
        width_(width) {}
  std::string_view name() const override { return "heterofl"; }

  absl::StatusOr<std::unique_ptr<TechniqueState>> NewWorkerScratch(
      const TrainOptions& train) const override {
    auto scratch = std::make_unique<SliceScratch>();
    TRIB_ASSIGN_OR_RETURN(scratch->trainer, LocalTrainer::Create(small_spec_, train));
    TRIB_ASSIGN_OR_RETURN(scratch->model, ModelState::Zeros(slice_.narrow_layout()));
    scratch->delta = scratch->model;
    return std::unique_ptr<TechniqueState>(std::move(scratch));
  }

  absl::Status BeforeTrain(ClientRound& round) const override {
    if (!IsSmallClient(round.client)) return absl::OkStatus();
    auto& scratch = static_cast<SliceScratch&>(*round.scratch);
    round.start_model = &ExtractSlice(*round.public_model, slice_, scratch.model);
    round.trainer = scratch.trainer.get();
    round.trained = &scratch.delta;
    round.compute_scale = width_ * width_;
    return absl::OkStatus();
  }

  void AdjustStrategy(StrategySpec& spec) const override {
    // Small clients cover only part of the model: average each coordinate over its holders.
    spec.mask_aware = true;
  }
  bool IsSmallClient(uint32_t client) const override {
    return client < is_small_.size() && is_small_[client];
  }
  std::optional<absl::Status> DecodeUpdate(uint32_t client, const Pipeline& uplink,
                                           const Payload& payload, ModelState& scratch,
                                           std::vector<uint32_t>& sent,
                                           ClientUpdate& update) const override {
    if (!IsSmallClient(client)) return std::nullopt;
    absl::StatusOr<Update> decoded =
        uplink.Decode(payload, slice_.narrow_size(), slice_.narrow_layout());
    if (!decoded.ok()) return decoded.status();
    std::vector<float> narrow(slice_.narrow_size(), 0.0f);
    decoded->AddTo(narrow);
    slice_.ScatterInto(narrow, scratch.flat());
    if (decoded->sparse) {
      sent.clear();
      for (uint32_t i : decoded->indices) sent.push_back(slice_.covered()[i]);
      update.sent = &sent;
    } else {
      update.sent = &slice_.covered();
    }
    return absl::OkStatus();
  }

 private:
  ModelSpec small_spec_;
  ModelSlice slice_;
  std::vector<bool> is_small_;
  double width_;
};

}  // namespace

std::vector<ConfigField<ExperimentConfig>> HeteroFlFields() {
  using C = ExperimentConfig;
  return {
      FloatField<C>(
          "model.small_fraction",
          "fraction of clients that train a narrower slice of the model (HeteroFL)",
          [](C& c) -> double& { return c.plugins.Mutable<HeteroFlOptions>().small_fraction; }),
      FloatField<C>(
          "model.small_width", "width of the small clients' slice, in (0, 1]",
          [](C& c) -> double& { return c.plugins.Mutable<HeteroFlOptions>().small_width; }),
  };
}

absl::Status ValidateHeteroFl(const ExperimentConfig& config) {
  const HeteroFlOptions& o = config.plugins.Get<HeteroFlOptions>();
  if (!(o.small_fraction >= 0.0 && o.small_fraction <= 1.0) ||
      !(o.small_width > 0.0 && o.small_width <= 1.0)) {
    return absl::InvalidArgumentError(
        "model.small_fraction must be in [0, 1] and model.small_width in (0, 1]");
  }
  if (o.small_fraction == 0.0) return absl::OkStatus();
  static const std::set<std::string> kCoordinateWise = {"fedavg",     "fedprox",      "fedavgm",
                                                        "fedadagrad", "fedadam",      "fedyogi",
                                                        "diloco",     "norm_bounding"};
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Pipeline> uplink, Pipeline::Parse(config.compress.uplink));
  if (!kCoordinateWise.count(config.strategy.name) ||
      !config.plugins.Get<LocalLayersOptions>().prefixes.empty() || uplink->sketch() != nullptr) {
    return absl::InvalidArgumentError(
        "model.small_fraction (HeteroFL) needs a FedAvg-family strategy (fedavg, fedprox, "
        "fedavgm, fedad*, fedyogi, diloco, norm_bounding), no local layers and no sketch");
  }
  TRIB_ASSIGN_OR_RETURN(const Dataset* dataset, FindDataset(config.data.dataset));
  if (dataset->text()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model.small_fraction (HeteroFL) slices image models; data.dataset = ", config.data.dataset,
        " is text"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Technique>> CreateHeteroFl(const ExperimentConfig& config,
                                                          const ModelState& global) {
  const HeteroFlOptions& options = config.plugins.Get<HeteroFlOptions>();
  if (options.small_fraction <= 0.0) return nullptr;
  ModelSpec small_spec = config.model;
  small_spec.width = options.small_width;
  // A narrow model's trainer, for its layout.
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<LocalTrainer> small,
                        LocalTrainer::Create(small_spec, config.train));
  TRIB_ASSIGN_OR_RETURN(ModelSlice slice, ModelSlice::Create(global.specs(), small->layout()));
  return std::make_unique<HeteroFl>(small_spec, std::move(slice),
                                    ChooseSmallClients(config.data.partition.num_clients,
                                                       options.small_fraction, config.run.seed),
                                    options.small_width);
}

}  // namespace tributary
