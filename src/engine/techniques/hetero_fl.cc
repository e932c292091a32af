#include "engine/techniques/hetero_fl.h"

#include "common/seeded_rng.h"
#include "common/status_util.h"
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

absl::StatusOr<std::unique_ptr<Technique>> CreateHeteroFl(const ExperimentConfig& config,
                                                          const ModelState& global) {
  if (config.small_fraction <= 0.0) return nullptr;
  ModelSpec small_spec = config.model;
  small_spec.width = config.small_width;
  // A narrow model's trainer, for its layout.
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<LocalTrainer> small,
                        LocalTrainer::Create(small_spec, config.train));
  TRIB_ASSIGN_OR_RETURN(ModelSlice slice, ModelSlice::Create(global.specs(), small->layout()));
  return std::make_unique<HeteroFl>(
      small_spec, std::move(slice),
      ChooseSmallClients(config.partition.num_clients, config.small_fraction, config.seed),
      config.small_width);
}

}  // namespace tributary
