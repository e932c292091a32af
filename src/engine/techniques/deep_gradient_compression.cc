#include "engine/techniques/deep_gradient_compression.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_util.h"
#include "compress/codec_params.h"

namespace tributary {
namespace {

// A client's velocity u (momentum correction), allocated on its first round.
struct DgcVelocity : TechniqueState {
  std::vector<float> u;
};

class DeepGradientCompression final : public Technique {
 public:
  DeepGradientCompression(const DgcOptions& options, double target_density)
      : options_(options), target_density_(target_density) {}
  std::string_view name() const override { return "dgc"; }

  std::unique_ptr<TechniqueState> NewClientState() const override {
    if (options_.momentum <= 0.0) return nullptr;
    return std::make_unique<DgcVelocity>();
  }
  std::unique_ptr<TechniqueState> CopyClientState(const TechniqueState& state) const override {
    return std::make_unique<DgcVelocity>(static_cast<const DgcVelocity&>(state));
  }

  absl::Status AfterTrain(ClientRound& round) const override {
    std::span<float> x = round.writable_upload();
    if (options_.clip_norm > 0.0) {
      double squared = 0.0;
      for (float v : x) squared += static_cast<double>(v) * v;
      const double norm = std::sqrt(squared);
      if (norm > options_.clip_norm) {
        const float factor = static_cast<float>(options_.clip_norm / norm);
        for (float& v : x) v *= factor;
      }
    }
    if (options_.momentum <= 0.0) return absl::OkStatus();
    std::vector<float>& u = static_cast<DgcVelocity*>(round.memory)->u;
    if (u.empty()) u.assign(x.size(), 0.0f);
    if (u.size() != x.size()) {
      return absl::FailedPreconditionError(
          absl::StrCat("dgc: velocity has ", u.size(), " values, the update ", x.size()));
    }
    const float m = static_cast<float>(options_.momentum);
    for (size_t i = 0; i < x.size(); ++i) {
      u[i] = m * u[i] + x[i];
      x[i] = u[i];  // error feedback accumulates the velocity: v += u
    }
    return absl::OkStatus();
  }

  absl::Status AfterEncode(ClientRound& round, const Pipeline& uplink,
                           ClientUpload& upload) const override {
    if (options_.momentum <= 0.0 || !options_.momentum_masking) return absl::OkStatus();
    std::vector<float>& u = static_cast<DgcVelocity*>(round.memory)->u;
    TRIB_ASSIGN_OR_RETURN(Update sent, uplink.Decode(upload.update, u.size(), round.upload_layout));
    if (!sent.sparse) {
      return absl::FailedPreconditionError("dgc: momentum masking needs a top-k uplink");
    }
    for (uint32_t i : sent.indices) u[i] = 0.0f;
    return absl::OkStatus();
  }

  void ScaleRatios(int round, std::span<const double> uplink_bps,
                   std::span<double> scales) const override {
    const double warmup = DgcWarmupRatioScale(round, options_.warmup_rounds,
                                              options_.warmup_density, target_density_);
    for (double& scale : scales) scale *= warmup;
  }

 private:
  DgcOptions options_;
  double target_density_;
};

// The ratio of the uplink's top-k stage (0 when it is sized by k), or an error when the uplink
// has no top-k stage, or the warm-up needs a ratio that is not given.
absl::StatusOr<double> TopKRatio(const std::string& uplink, const DgcOptions& options) {
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Pipeline> pipeline, Pipeline::Parse(uplink));
  const std::vector<std::string> stages = absl::StrSplit(pipeline->spec(), '|');
  for (const std::string& stage : stages) {
    TRIB_ASSIGN_OR_RETURN(CodecParams params, CodecParams::Parse(stage));
    if (params.name() != "topk") continue;
    TRIB_ASSIGN_OR_RETURN(double ratio, params.Number("ratio", 0.0, 0.0, 1.0));
    if (ratio == 0.0 && options.warmup_rounds > 0) {
      return absl::InvalidArgumentError(
          "compress.dgc_warmup_rounds: the uplink's top-k is sized by k; give it as "
          "topk:ratio=");
    }
    return ratio;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("compress.dgc_*: Deep Gradient Compression's options need a top-k uplink; "
                   "compress.uplink is ",
                   uplink));
}

}  // namespace

std::vector<ConfigField<ExperimentConfig>> DgcFields() {
  using C = ExperimentConfig;
  auto options = [](C& c) -> DgcOptions& { return c.plugins.Mutable<DgcOptions>(); };
  return {
      FloatField<C>("compress.dgc_momentum",
                    "DGC momentum correction: clients accumulate a velocity u = m u + update "
                    "and error feedback sends its top-k (paper: 0.9; 0: off; needs "
                    "error_feedback)",
                    [=](C& c) -> double& { return options(c).momentum; }),
      BoolField<C>("compress.dgc_momentum_masking",
                   "DGC momentum factor masking: zero the velocity where the top-k sent",
                   [=](C& c) -> bool& { return options(c).momentum_masking; }),
      FloatField<C>("compress.dgc_clip_norm",
                    "DGC local clipping: scale each client's update to at most this L2 norm "
                    "before it is accumulated (0: off)",
                    [=](C& c) -> double& { return options(c).clip_norm; }),
      IntegerField<C>(
          "compress.dgc_warmup_rounds",
          "DGC sparsity warm-up: the top-k density falls exponentially from "
          "dgc_warmup_density to the configured ratio over this many rounds (0: off)",
          [=](C& c) -> int& { return options(c).warmup_rounds; }, 0, 100000),
      FloatField<C>("compress.dgc_warmup_density",
                    "the top-k density of the first warm-up round (paper: 0.25)",
                    [=](C& c) -> double& { return options(c).warmup_density; }),
  };
}

absl::Status ValidateDgc(const ExperimentConfig& config) {
  const DgcOptions& o = config.plugins.Get<DgcOptions>();
  if (!(o.momentum >= 0.0 && o.momentum < 1.0)) {
    return absl::InvalidArgumentError("compress.dgc_momentum must be in [0, 1)");
  }
  if (!(o.clip_norm >= 0.0 && o.clip_norm <= 1e9)) {
    return absl::InvalidArgumentError("compress.dgc_clip_norm must be in [0, 1e9]");
  }
  if (!(o.warmup_density > 0.0 && o.warmup_density <= 1.0)) {
    return absl::InvalidArgumentError("compress.dgc_warmup_density must be in (0, 1]");
  }
  if (!o.enabled()) return absl::OkStatus();
  TRIB_RETURN_IF_ERROR(TopKRatio(config.compress.uplink, o).status());
  if (o.momentum > 0.0 && !config.compress.error_feedback) {
    return absl::InvalidArgumentError(
        "compress.dgc_momentum: momentum correction accumulates the velocity in error "
        "feedback's residual; set compress.error_feedback = true");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Technique>> CreateDgc(const ExperimentConfig& config,
                                                     const ModelState& global) {
  const DgcOptions& options = config.plugins.Get<DgcOptions>();
  if (!options.enabled()) return nullptr;
  TRIB_ASSIGN_OR_RETURN(double ratio, TopKRatio(config.compress.uplink, options));
  return std::make_unique<DeepGradientCompression>(options, ratio);
}

double DgcWarmupRatioScale(int round, int warmup_rounds, double initial_density, double target) {
  if (warmup_rounds <= 0 || round > warmup_rounds || initial_density <= target) return 1.0;
  const double progress = static_cast<double>(std::max(round, 1) - 1) / warmup_rounds;
  // density / target = (d0 / target)^(1 - progress)
  return std::pow(initial_density / target, 1.0 - progress);
}

}  // namespace tributary
