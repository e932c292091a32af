#include "engine/secure_aggregation.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "aggregate/strategy_registry.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "privacy/privacy_spec.h"

namespace tributary {
namespace {

const std::set<std::string>& CompatibleTechniques() {
  // `sketch` aggregates the unmasked mean table (UploadAggregator::AccumulateSecureMean).
  static const std::set<std::string> names = {"fedprox", "attack", "dp", "sketch"};
  return names;
}

// The most clients one round can sample: every client under Poisson sampling, else K.
int LargestCohort(const ExperimentConfig& config) {
  const int population = config.data.partition.num_clients;
  if (config.ResolvedSampling() == ClientSampling::kPoisson) return population;
  return std::min(population, config.run.clients_per_round);
}

// Differential privacy composes with the masks in its distributed mode only: each client clips
// and adds its noise share, and the server never sees an update to clip or noise.
absl::Status CheckPrivacyUnderTheMasks(const ExperimentConfig& config) {
  const PrivacySpec& privacy = config.plugins.Get<PrivacySpec>();
  if (!privacy.enabled()) return absl::OkStatus();
  if (privacy.mode != PrivacyMode::kDistributed) {
    return absl::InvalidArgumentError(
        "secagg with privacy.mode = central: the server would need each update to clip it, and "
        "sees only the sum; use privacy.mode = \"distributed\" (each client adds its share of "
        "the noise before masking)");
  }
  if (privacy.adaptive_clipping) {
    return absl::InvalidArgumentError(
        "secagg with privacy.adaptive_clipping: each client's clipped-or-not count would have "
        "to go under the masks as well, which is not supported; set it to false");
  }
  // A noised coordinate is at most C (the clipped update's share) plus its noise share, of std
  // s = z C / sqrt(m). The ring clips at clip_range, and a clipped noise share is no longer the
  // Gaussian the accountant assumes: clip_range must leave 8 s of room (a noised value falls
  // outside with probability below 1.3e-15).
  const SecAggSpec& spec = config.plugins.Get<SecAggSpec>();
  const int shares =
      privacy.distributed_clients > 0 ? privacy.distributed_clients : config.run.clients_per_round;
  const double share_stddev =
      privacy.noise_multiplier * privacy.clip_norm / std::sqrt(static_cast<double>(shares));
  const double needed = privacy.clip_norm + 8.0 * share_stddev;
  if (spec.clip_range < needed) {
    return absl::InvalidArgumentError(absl::StrCat(
        "secagg.clip_range = ", spec.clip_range,
        " would clip the noised values: a coordinate of a clipped update is at most "
        "privacy.clip_norm = ",
        privacy.clip_norm, ", and each client's noise share has std ", share_stddev,
        "; clipped noise is not the Gaussian the accountant assumes. Set secagg.clip_range >= ",
        needed, " (clip_norm + 8 std)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<ConfigField<ExperimentConfig>> SecAggFields() {
  using C = ExperimentConfig;
  const auto spec = [](C& c) -> SecAggSpec& { return c.plugins.Mutable<SecAggSpec>(); };
  return {
      BoolField<C>("secagg.enabled",
                   "secure aggregation (SecAgg+, Bell et al. 2020): the server learns only the "
                   "sum of the round's updates (docs/secure_aggregation.md)",
                   [spec](C& c) -> bool& { return spec(c).enabled; }),
      IntegerField<C>(
          "secagg.neighbors",
          "k, each client's neighbours (mask partners, share holders); 0: everyone for cohorts "
          "up to 64, else 4 ceil(log2 n)",
          [spec](C& c) -> int& { return spec(c).neighbors; }, 0, 1 << 20),
      IntegerField<C>(
          "secagg.threshold",
          "t, shares that recover a secret and survivors every stage needs; must exceed k / 2 "
          "(0: floor(k / 2) + 1)",
          [spec](C& c) -> int& { return spec(c).threshold; }, 0, 1 << 20),
      IntegerField<C>(
          "secagg.bits", "levels of each value in the ring: 2^bits; bits + log2(cohort) <= 32",
          [spec](C& c) -> int& { return spec(c).bits; }, 1, 31),
      FloatField<C>("secagg.clip_range",
                    "each update value is clipped to [-clip_range, clip_range] before quantizing",
                    [spec](C& c) -> double& { return spec(c).clip_range; }),
      FloatField<C>("secagg.stage_dropout",
                    "simulation: probability a client drops before each later stage (share "
                    "keys, masked input, unmasking)",
                    [spec](C& c) -> double& { return spec(c).stage_dropout; }),
  };
}

absl::Status ValidateSecureAggregation(const ExperimentConfig& config) {
  const SecAggSpec& spec = config.plugins.Get<SecAggSpec>();
  if (!spec.enabled) return absl::OkStatus();
  if (!(spec.clip_range > 0.0 && std::isfinite(spec.clip_range))) {
    return absl::InvalidArgumentError(
        absl::StrCat("secagg.clip_range must be > 0, got ", spec.clip_range));
  }
  if (!(spec.stage_dropout >= 0.0 && spec.stage_dropout < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("secagg.stage_dropout must be in [0, 1), got ", spec.stage_dropout));
  }
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Pipeline> uplink, Pipeline::Parse(config.compress.uplink));
  if (!uplink->seed_determined_coordinates() && !uplink->plain_sketch()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "secagg: compress.uplink = '", config.compress.uplink,
        "' cannot go under the masks: the server adds the masked vectors coordinate by "
        "coordinate, so every client must send the same coordinates as plain values. Codecs "
        "whose structure differs per client (top-k indices, per-client scales, quantizer "
        "levels) would add unrelated numbers, and a byte stage (zstd) has nothing to shrink in "
        "a masked vector; use compress.uplink = \"fp32\", \"randk:ratio=R\" (the round's "
        "clients share its seed) or \"sketch:...\" (the tables add up)"));
  }
  if (config.compress.error_feedback) {
    return absl::InvalidArgumentError(
        "secagg: compress.error_feedback is not supported under the masks; set it to false");
  }
  if (!StepsOnTheMeanOnly(config.strategy.name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "secagg: strategy.name = ", config.strategy.name,
        " needs the clients' individual updates, and the server sees only their sum; use ",
        MeanStepStrategies()));
  }
  if (config.strategy.mask_aware) {
    return absl::InvalidArgumentError(
        "secagg: strategy.mask_aware counts which clients sent each coordinate, which the sum "
        "hides");
  }
  TRIB_RETURN_IF_ERROR(CheckPrivacyUnderTheMasks(config));
  // Differential privacy weighs every client 1 whatever the weighting says.
  if (config.strategy.ResolvedWeighting() != Weighting::kUniform &&
      !config.plugins.Get<PrivacySpec>().enabled()) {
    return absl::InvalidArgumentError(
        "secagg: every client weighs 1 in a masked sum (weighting by example counts would need "
        "each count in the clear next to its update); set strategy.weighting = \"uniform\"");
  }
  TRIB_RETURN_IF_ERROR(ResolveSecAggParams(spec, LargestCohort(config), 1, 0).status());
  return absl::OkStatus();
}

absl::Status CheckSecureAggregationTechniques(const TechniqueSet& techniques) {
  for (const auto& technique : techniques) {
    if (!CompatibleTechniques().count(std::string(technique->name()))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "secagg: ", std::string(technique->name()),
          " attaches data to each upload or decodes it per client, which a masked sum cannot "
          "carry; secure aggregation runs with fedprox, attacks and distributed differential "
          "privacy"));
    }
  }
  return absl::OkStatus();
}

uint64_t SecAggGraphSeed(uint64_t run_seed, int round) {
  return DeriveSeed(run_seed, round, 0, RngPurpose::kSecAggGraph);
}

SymmetricKey SecAggRoundingKey(uint64_t run_seed, int round, uint32_t client) {
  Rng rng = MakeRng(run_seed, round, client, RngPurpose::kSecAggRounding);
  SymmetricKey key;
  for (size_t i = 0; i < key.size(); i += 8) {
    const uint64_t word = rng();
    std::memcpy(key.data() + i, &word, 8);
  }
  return key;
}

uint64_t SecAggCodecSeed(uint64_t run_seed, int round) {
  return DeriveSeed(run_seed, round, 0, RngPurpose::kSecAggCodec);
}

Update SecureInputPattern(const Pipeline& uplink, uint64_t run_seed, int round,
                          std::span<const TensorSpec> layout) {
  if (const SketchCodec* sketch = uplink.sketch(); sketch != nullptr) {
    // The table's entries, in order.
    Update entries{.dimension = sketch->table_size(), .sparse = true};
    entries.indices.resize(sketch->table_size());
    std::iota(entries.indices.begin(), entries.indices.end(), 0u);
    entries.values.assign(sketch->table_size(), 1.0f);
    return entries;
  }
  size_t dimension = 0;
  for (const TensorSpec& spec : layout) dimension += static_cast<size_t>(spec.NumElements());
  return uplink.SeededPattern(
      dimension, CodecContext{.seed = SecAggCodecSeed(run_seed, round), .layout = layout});
}

bool DropsBeforeStage(const SecAggSpec& spec, uint64_t run_seed, int round, uint32_t client,
                      SecAggStage stage) {
  if (spec.stage_dropout <= 0.0 || stage == SecAggStage::kAdvertise) return false;
  Rng rng = MakeRng(run_seed, round, uint64_t{client} * kSecAggStages + static_cast<int>(stage),
                    RngPurpose::kSecAggDropout);
  return UniformUnit(rng) < spec.stage_dropout;
}

}  // namespace tributary
