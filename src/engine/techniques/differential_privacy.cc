#include "engine/techniques/differential_privacy.h"

#include <cmath>
#include <cstring>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "aggregate/strategy_registry.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "compress/pipeline.h"
#include "engine/techniques/hetero_fl.h"
#include "privacy/gaussian_noise.h"
#include "privacy/rdp_accountant.h"
#include "tensor/order_invariant_sum.h"

namespace tributary {
namespace {

// The noise streams of a round that are not a client's (the server's update and count noise).
constexpr uint64_t kServerStream = 0xFFFFFFFFull + 1;

// Strategies whose server step reads only the mean update (they see the noised mean).
double L2Norm(std::span<const float> values) {
  double sum = 0.0;
  for (float v : values) sum += static_cast<double>(v) * v;
  return std::sqrt(sum);
}

// The attachment of adaptive clipping: one little-endian float, b - 1/2 (+ noise share).
Payload EncodeCount(float value) {
  Payload out(sizeof(float));
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(bits >> (8 * i));
  return out;
}

absl::StatusOr<float> DecodeCount(const Payload& payload) {
  if (payload.size() != sizeof(float)) {
    return absl::InvalidArgumentError(absl::StrCat("adaptive clipping: the count attachment has ",
                                                   payload.size(), " bytes, expected 4"));
  }
  uint32_t bits = 0;
  for (int i = 0; i < 4; ++i) bits |= static_cast<uint32_t>(payload[i]) << (8 * i);
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

// The accountant's RDP and the clip norm are doubles; a checkpoint carries float buffers, so each
// double travels as the two floats that hold its bytes (restored bit for bit).
std::vector<float> PackDoubles(std::span<const double> values) {
  std::vector<float> out(values.size() * 2);
  std::memcpy(out.data(), values.data(), values.size() * sizeof(double));
  return out;
}

std::vector<double> UnpackDoubles(std::span<const float> packed) {
  std::vector<double> out(packed.size() / 2);
  std::memcpy(out.data(), packed.data(), out.size() * sizeof(double));
  return out;
}

NoiseKey RoundNoiseKey(const PrivacySpec& spec, uint64_t seed, int round, uint64_t stream) {
  return spec.reproducible_noise
             ? SeededNoiseKey(DeriveSeed(seed, round, stream, RngPurpose::kPrivacyNoise))
             : SecretNoiseKey();
}

// Per worker: the count value AfterTrain computed for AfterEncode to attach.
struct CountScratch : TechniqueState {
  float value = 0.0f;
};

class DifferentialPrivacy;

// The strategy as differential privacy wraps it: clipped updates summed, noised, divided by the
// expected cohort; the wrapped strategy's server step applies that mean as its one update.
class NoisedMean final : public Strategy {
 public:
  NoisedMean(std::unique_ptr<Strategy> server_step, const DifferentialPrivacy& dp)
      : server_step_(std::move(server_step)), dp_(dp) {}

  absl::Status Init(const ModelState& global, int64_t expected_examples) override;
  absl::Status Accumulate(const ClientUpdate& update) override;
  absl::StatusOr<ModelState> Finalize() override;
  std::vector<std::vector<float>*> carried_state() override {
    return server_step_->carried_state();
  }

 private:
  // Each client's weight in the exact sum: 1 / (4 m), undone in Finalize (the sum allows a
  // total weight of 4).
  double WeightScale() const;

  std::unique_ptr<Strategy> server_step_;
  const DifferentialPrivacy& dp_;
  ModelState global_;
  int64_t expected_examples_ = 0;
  std::optional<OrderInvariantSum> sum_;
  bool in_round_ = false;
};

class DifferentialPrivacy final : public Technique {
 public:
  explicit DifferentialPrivacy(const ExperimentConfig& config)
      : spec_(config.plugins.Get<PrivacySpec>()),
        seed_(config.run.seed),
        q_(config.SamplingRate()),
        expected_cohort_(config.run.clients_per_round),
        shares_(spec_.distributed_clients > 0 ? spec_.distributed_clients
                                              : config.run.clients_per_round),
        update_z_(UpdateNoiseMultiplier(spec_, expected_cohort_)),
        count_sigma_(CountNoiseStddev(spec_, expected_cohort_)) {
    std::vector<double> state = {spec_.clip_norm};
    const RdpAccountant fresh;
    state.insert(state.end(), fresh.rdp().begin(), fresh.rdp().end());
    carried_ = PackDoubles(state);
  }
  std::string_view name() const override { return "dp"; }

  // --- Client side ---
  absl::StatusOr<std::unique_ptr<TechniqueState>> NewWorkerScratch(
      const TrainOptions& train) const override {
    if (!spec_.adaptive_clipping) return std::unique_ptr<TechniqueState>();
    return std::unique_ptr<TechniqueState>(std::make_unique<CountScratch>());
  }

  absl::Status AfterTrain(ClientRound& round) const override {
    const double clip = round.task->clip_norm;
    if (!(std::isfinite(clip) && clip > 0.0)) {
      return absl::FailedPreconditionError("differential privacy: the task carries no clip norm");
    }
    std::span<float> update = round.writable_upload();
    const double norm = ClipToNorm(update, clip);
    float count = norm <= clip ? 0.5f : -0.5f;
    if (spec_.mode == PrivacyMode::kDistributed) {
      GaussianStream noise(RoundNoiseKey(spec_, seed_, round.task->round, round.client));
      const double share = 1.0 / std::sqrt(static_cast<double>(shares_));
      noise.Add(update, update_z_ * clip * share);
      if (spec_.adaptive_clipping) {
        count = static_cast<float>(count + count_sigma_ * share * noise.Next());
      }
    }
    if (spec_.adaptive_clipping) static_cast<CountScratch*>(round.scratch)->value = count;
    return absl::OkStatus();
  }

  absl::Status AfterEncode(ClientRound& round, const Pipeline& uplink,
                           ClientUpload& upload) const override {
    if (spec_.adaptive_clipping) {
      upload.attachment = EncodeCount(static_cast<CountScratch*>(round.scratch)->value);
    }
    return absl::OkStatus();
  }

  // --- Server side ---
  std::unique_ptr<Strategy> WrapStrategy(std::unique_ptr<Strategy> strategy) override {
    return std::make_unique<NoisedMean>(std::move(strategy), *this);
  }
  std::optional<double> ClipNorm() const override { return clip_norm(); }

  std::optional<std::string> StopBefore(int round) const override {
    if (spec_.target_epsilon <= 0.0) return std::nullopt;
    const PrivacySpent next = Accountant().SpentAfter(q_, spec_.noise_multiplier, 1, spec_.delta);
    if (next.epsilon <= spec_.target_epsilon) return std::nullopt;
    return absl::StrCat("privacy budget: round ", round, " would bring epsilon to ", next.epsilon,
                        " (delta ", spec_.delta, "), above privacy.target_epsilon ",
                        spec_.target_epsilon, "; the run stops after round ", round - 1);
  }

  bool reads_attachment() const override { return spec_.adaptive_clipping; }
  absl::Status DecodeAttachment(const ClientUpload& upload, const Pipeline& uplink,
                                ModelState& buffer) const override {
    if (!spec_.adaptive_clipping) return absl::OkStatus();
    TRIB_ASSIGN_OR_RETURN(const float count, DecodeCount(upload.attachment));
    // Central mode: exactly +-1/2. Distributed: the share of noise makes it any bounded value.
    const bool valid = spec_.mode == PrivacyMode::kCentral
                           ? (count == 0.5f || count == -0.5f)
                           : (std::isfinite(count) && std::fabs(count) <= kMaxCount);
    if (!valid) {
      return absl::InvalidArgumentError(
          absl::StrCat("adaptive clipping: count ", count, " out of range"));
    }
    return absl::OkStatus();
  }
  absl::Status OnAccepted(const ClientUpload& upload, const ModelState& attachment) override {
    ++accepted_;
    if (spec_.adaptive_clipping) {
      TRIB_ASSIGN_OR_RETURN(const float count, DecodeCount(upload.attachment));
      count_sum_ += std::llround(static_cast<double>(count) * kCountScale);
    }
    return absl::OkStatus();
  }

  void OnRoundStart(std::span<const uint32_t> cohort, RoundMetrics& metrics) override {
    round_ = metrics.round;
    accepted_ = 0;
    count_sum_ = 0;
  }

  void OnRoundEnd(bool stepped, RoundMetrics& metrics) override {
    std::vector<double> state = UnpackDoubles(carried_);
    RdpAccountant accountant = Accountant();
    const double clip = state[0];
    // A round that changed no model released nothing. Distributed noise is as large as the
    // shares that arrived: sqrt(accepted / m) of the full noise. Under secure aggregation the
    // arrivals are the clients the masked sum holds.
    const int accepted = metrics.secagg.has_value() ? metrics.secagg->clients_summed : accepted_;
    if (stepped) {
      const double z = spec_.mode == PrivacyMode::kCentral
                           ? spec_.noise_multiplier
                           : spec_.noise_multiplier * std::sqrt(accepted / double(shares_));
      accountant.Compose(q_, z);
      if (spec_.adaptive_clipping) {
        double noised = static_cast<double>(count_sum_) / kCountScale;
        if (spec_.mode == PrivacyMode::kCentral) {
          GaussianStream noise(RoundNoiseKey(spec_, seed_, round_, kServerStream + 1));
          noised += count_sigma_ * noise.Next();
        }
        const double unclipped_fraction = noised / expected_cohort_ + 0.5;
        state[0] = clip * std::exp(-spec_.clip_learning_rate *
                                   (unclipped_fraction - spec_.target_quantile));
      }
    }
    metrics.dp_epsilon = accountant.Spent(spec_.delta).epsilon;
    metrics.dp_clip_norm = clip;
    std::copy(accountant.rdp().begin(), accountant.rdp().end(), state.begin() + 1);
    carried_ = PackDoubles(state);
  }

  std::vector<std::vector<float>*> carried_state() override { return {&carried_}; }

  // For NoisedMean.
  double clip_norm() const { return UnpackDoubles(std::span(carried_).first(2))[0]; }
  const PrivacySpec& spec() const { return spec_; }
  double update_noise_multiplier() const { return update_z_; }
  double expected_cohort() const { return expected_cohort_; }
  int noise_shares() const { return shares_; }
  NoiseKey ServerNoiseKey() const { return RoundNoiseKey(spec_, seed_, round_, kServerStream); }

 private:
  RdpAccountant Accountant() const {
    std::vector<double> state = UnpackDoubles(carried_);
    RdpAccountant accountant;
    accountant.Restore(std::vector<double>(state.begin() + 1, state.end()));
    return accountant;
  }

  const PrivacySpec spec_;
  const uint64_t seed_;
  const double q_;
  const double expected_cohort_;  // m = K = q N, the fixed denominator
  const int shares_;              // distributed mode: noise shares that make the full noise
  const double update_z_;
  const double count_sigma_;
  // [clip norm, RDP at each order] packed (PackDoubles): restored from a checkpoint in place.
  std::vector<float> carried_;
  int round_ = 0;
  int accepted_ = 0;
  // The counts' sum in fixed point (units of 2^-20), so the uploads' arrival order cannot change
  // it: |count| <= 10^5 keeps 10^7 clients' sum within 64 bits. An honest count's noise share
  // stays far below (ValidateDifferentialPrivacy).
  static constexpr float kMaxCount = 1e5f;
  static constexpr double kCountScale = 1 << 20;
  int64_t count_sum_ = 0;
};

double NoisedMean::WeightScale() const { return 0.25 / dp_.expected_cohort(); }

absl::Status NoisedMean::Init(const ModelState& global, int64_t expected_examples) {
  global_ = global;
  expected_examples_ = expected_examples;
  if (sum_.has_value() && sum_->dimension() == global.num_elements()) {
    sum_->Reset();
  } else {
    sum_.emplace(global.num_elements());
  }
  in_round_ = true;
  return absl::OkStatus();
}

absl::Status NoisedMean::Accumulate(const ClientUpdate& update) {
  if (!in_round_) return absl::FailedPreconditionError("Accumulate outside a round");
  TRIB_RETURN_IF_ERROR(CheckClientUpdate(update, global_, expected_examples_));
  std::span<const float> values = update.delta->flat();
  // Every client counts once (example weights would raise the sensitivity); WeightScale keeps
  // the exact sum's total weight in range for cohorts up to 16 m.
  double clip_factor = 1.0;
  const double norm = L2Norm(values);
  if (dp_.spec().mode == PrivacyMode::kCentral) {
    // Just below C, so the sum's grid rounding cannot carry the contribution above C.
    if (norm > dp_.clip_norm()) clip_factor = dp_.clip_norm() / norm * (1.0 - 1e-6);
  } else {
    // The noise inside keeps the server from clipping, but an honest update (clipped to C plus
    // a noise share of std s per coordinate) has norm at most C + s (sqrt(d) + 10) but with
    // probability below e^-50 (Gaussian concentration); a larger one is a client that did not
    // clip, and is refused.
    const double share = dp_.update_noise_multiplier() * dp_.clip_norm() /
                         std::sqrt(static_cast<double>(dp_.noise_shares()));
    const double bound =
        dp_.clip_norm() + share * (std::sqrt(static_cast<double>(values.size())) + 10.0);
    if (!(norm <= bound)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "client ", update.client_id, ": update norm ", norm,
          " is above what a clipped update with its noise share can reach (", bound, ")"));
    }
  }
  // A secure aggregation sum arrives as the mean of `summed` clients: the clip and the bound
  // above apply to that mean (each client clipped its own update), and it weighs `summed`.
  if (update.summed < 1) return absl::InvalidArgumentError("an update standing for no client");
  absl::Status status =
      sum_->Add(values, clip_factor * WeightScale() * static_cast<double>(update.summed));
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("client ", update.client_id, ": ", status.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<ModelState> NoisedMean::Finalize() {
  if (!in_round_) return absl::FailedPreconditionError("Finalize outside a round");
  in_round_ = false;
  const double stddev = dp_.spec().mode == PrivacyMode::kCentral
                            ? dp_.update_noise_multiplier() * dp_.clip_norm()
                            : 0.0;  // the clients added it
  ModelState mean = global_.ZerosLike();
  std::span<float> out = mean.flat();
  std::span<const double> sum = sum_->sum();
  GaussianStream noise(dp_.ServerNoiseKey());
  const double inverse_cohort = 1.0 / dp_.expected_cohort();
  const double unscale = 1.0 / WeightScale();
  for (size_t i = 0; i < out.size(); ++i) {
    const double total = sum[i] * unscale;
    const double noised = stddev > 0.0 ? total + stddev * noise.Next() : total;
    out[i] = static_cast<float>(noised * inverse_cohort);
  }
  TRIB_RETURN_IF_ERROR(server_step_->Init(global_, 1));
  TRIB_RETURN_IF_ERROR(
      server_step_->Accumulate(ClientUpdate{.client_id = 0, .delta = &mean, .num_examples = 1}));
  return server_step_->Finalize();
}

}  // namespace

double ClipToNorm(std::span<float> values, double clip_norm) {
  const double norm = L2Norm(values);
  if (norm <= clip_norm) return norm;
  double scale = clip_norm / norm;
  // Float rounding may leave the scaled norm a hair above C: shrink until it is not.
  for (int attempt = 0; attempt < 8; ++attempt) {
    for (float& v : values) v = static_cast<float>(v * scale);
    const double clipped = L2Norm(values);
    if (clipped <= clip_norm) break;
    scale = clip_norm / clipped * (1.0 - 1e-7);
  }
  return norm;
}

double CountNoiseStddev(const PrivacySpec& spec, double expected_cohort) {
  if (!spec.adaptive_clipping) return 0.0;
  return spec.count_noise_multiplier > 0.0 ? spec.count_noise_multiplier : expected_cohort / 20.0;
}

double UpdateNoiseMultiplier(const PrivacySpec& spec, double expected_cohort) {
  if (!spec.adaptive_clipping) return spec.noise_multiplier;
  const double sigma_b = CountNoiseStddev(spec, expected_cohort);
  const double z = spec.noise_multiplier;
  return std::pow(std::pow(z, -2.0) - std::pow(2.0 * sigma_b, -2.0), -0.5);
}

std::vector<ConfigField<ExperimentConfig>> PrivacyFields() {
  using C = ExperimentConfig;
  const auto spec = [](C& c) -> PrivacySpec& { return c.plugins.Mutable<PrivacySpec>(); };
  return {
      EnumField<C>(
          "privacy.mode",
          "client-level DP-FedAvg: off, central (the server adds the noise) or distributed "
          "(each client adds its share); every client weighs 1, the mean divides by K; rounds "
          "below quorum are not accounted (docs/privacy.md)",
          [spec](C& c) -> PrivacyMode& { return spec(c).mode; }, ParsePrivacyMode, PrivacyModeName),
      FloatField<C>("privacy.noise_multiplier",
                    "z: noise std on the sum of clipped updates is z * clip_norm",
                    [spec](C& c) -> double& { return spec(c).noise_multiplier; }),
      FloatField<C>("privacy.clip_norm",
                    "C: L2 bound of each client's update (adaptive clipping: the first)",
                    [spec](C& c) -> double& { return spec(c).clip_norm; }),
      FloatField<C>("privacy.delta", "delta of the reported (epsilon, delta)",
                    [spec](C& c) -> double& { return spec(c).delta; }),
      FloatField<C>("privacy.target_epsilon",
                    "stop before the round that would spend more than this (0: no limit)",
                    [spec](C& c) -> double& { return spec(c).target_epsilon; }),
      BoolField<C>("privacy.adaptive_clipping",
                   "clip norm follows a quantile of the update norms (Andrew et al. 2021)",
                   [spec](C& c) -> bool& { return spec(c).adaptive_clipping; }),
      FloatField<C>("privacy.target_quantile",
                    "adaptive clipping: fraction of updates left unclipped",
                    [spec](C& c) -> double& { return spec(c).target_quantile; }),
      FloatField<C>("privacy.clip_learning_rate", "adaptive clipping: geometric step of C",
                    [spec](C& c) -> double& { return spec(c).clip_learning_rate; }),
      FloatField<C>("privacy.count_noise_multiplier",
                    "adaptive clipping: noise std on the count (0: expected cohort / 20)",
                    [spec](C& c) -> double& { return spec(c).count_noise_multiplier; }),
      IntegerField<C>(
          "privacy.distributed_clients",
          "distributed: clients whose noise shares make the full noise (0: K)",
          [spec](C& c) -> int& { return spec(c).distributed_clients; }, 0, 10000000),
      BoolField<C>("privacy.reproducible_noise",
                   "draw the noise from run.seed (repeatable; not secret to who knows the seed)",
                   [spec](C& c) -> bool& { return spec(c).reproducible_noise; }),
  };
}

std::optional<ClientSampling> PrivacySampling(const ExperimentConfig& config) {
  if (!config.plugins.Get<PrivacySpec>().enabled()) return std::nullopt;
  return ClientSampling::kPoisson;
}

absl::Status ValidateDifferentialPrivacy(const ExperimentConfig& config) {
  const PrivacySpec& p = config.plugins.Get<PrivacySpec>();
  TRIB_RETURN_IF_ERROR(p.Validate());
  if (!p.enabled()) return absl::OkStatus();
  if (config.ResolvedSampling() != ClientSampling::kPoisson) {
    return absl::InvalidArgumentError(
        "privacy: run.sampling = fixed draws exactly K clients a round, which the privacy "
        "accountant (Poisson sampling of each client with q = K / N) does not cover; use "
        "run.sampling = poisson or auto");
  }
  if (!StepsOnTheMeanOnly(config.strategy.name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "privacy: strategy.name = ", config.strategy.name,
        " is not a server step over the mean update; DP-FedAvg works with ", MeanStepStrategies()));
  }
  if (config.strategy.mask_aware || config.plugins.Get<HeteroFlOptions>().small_fraction > 0.0) {
    return absl::InvalidArgumentError(
        "privacy: strategy.mask_aware and model.small_fraction (HeteroFL) average per coordinate "
        "over the clients that sent it, which the fixed denominator of DP-FedAvg excludes");
  }
  if (config.compress.error_feedback) {
    return absl::InvalidArgumentError(
        "privacy: compress.error_feedback keeps what the codec dropped of each client's update "
        "in a residual that is sent in later rounds without being clipped with them; the "
        "accountant would not cover it. Set compress.error_feedback = false");
  }
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Pipeline> uplink, Pipeline::Parse(config.compress.uplink));
  if (uplink->sketch() != nullptr) {
    return absl::InvalidArgumentError(
        "privacy: a sketch uplink is aggregated as tables, not as clipped updates");
  }
  if (p.mode == PrivacyMode::kDistributed) {
    // Each client's noise share is only a fraction of the noise: a lossy codec after it would
    // change the sum's noise away from the Gaussian the accountant assumes.
    const std::vector<std::string> stages = absl::StrSplit(config.compress.uplink, '|');
    for (const std::string& stage : stages) {
      const std::string name = stage.substr(0, stage.find(':'));
      if (name != "fp32" && name != "zstd") {
        return absl::InvalidArgumentError(
            absl::StrCat("privacy.mode = distributed needs a lossless uplink (fp32, zstd); '", name,
                         "' would alter the noise shares before they add up"));
      }
    }
  }
  const double expected = config.run.clients_per_round;
  if (p.adaptive_clipping && 2.0 * CountNoiseStddev(p, expected) <= p.noise_multiplier) {
    return absl::InvalidArgumentError(
        absl::StrCat("privacy: with adaptive clipping the count noise (sigma_b = ",
                     CountNoiseStddev(p, expected), ") must satisfy 2 sigma_b > noise_multiplier (",
                     p.noise_multiplier,
                     ") to leave noise for the update; raise "
                     "privacy.count_noise_multiplier or lower the noise multiplier"));
  }
  if (p.adaptive_clipping && p.mode == PrivacyMode::kDistributed) {
    const int shares =
        p.distributed_clients > 0 ? p.distributed_clients : config.run.clients_per_round;
    if (CountNoiseStddev(p, expected) / std::sqrt(static_cast<double>(shares)) > 1000.0) {
      return absl::InvalidArgumentError(
          "privacy.count_noise_multiplier: each client's share of the count noise would exceed "
          "1000, beyond the counts the server accepts");
    }
  }
  if (p.target_epsilon > 0.0) {
    const double first = EpsilonFor(config.SamplingRate(), p.noise_multiplier, 1, p.delta).epsilon;
    if (first > p.target_epsilon) {
      return absl::InvalidArgumentError(
          absl::StrCat("privacy.target_epsilon ", p.target_epsilon,
                       " is already exceeded by round 1 (epsilon ", first, " at delta ", p.delta,
                       " for q = ", config.SamplingRate(), ", z = ", p.noise_multiplier, ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Technique>> CreateDifferentialPrivacy(const ExperimentConfig& config,
                                                                     const ModelState& global) {
  if (!config.plugins.Get<PrivacySpec>().enabled()) return nullptr;
  TRIB_RETURN_IF_ERROR(ValidateDifferentialPrivacy(config));
  return std::make_unique<DifferentialPrivacy>(config);
}

}  // namespace tributary
