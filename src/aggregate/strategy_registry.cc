#include "aggregate/strategy_registry.h"

#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "aggregate/coordinate_median.h"
#include "aggregate/diloco.h"
#include "aggregate/fed_opt.h"
#include "aggregate/fedavg.h"
#include "aggregate/krum.h"
#include "aggregate/lora_exact.h"
#include "aggregate/norm_bounding.h"
#include "aggregate/trimmed_mean.h"

namespace tributary {
namespace {

using Factory = std::function<absl::StatusOr<std::unique_ptr<Strategy>>(const StrategySpec&)>;

struct Registration {
  Factory create;
  // The [strategy] keys only this strategy reads (stored in StrategySpec::options); may be null.
  std::vector<ConfigField<StrategySpec>> (*fields)() = nullptr;
  // The server step reads only the mean of the round's updates (StepsOnTheMeanOnly).
  bool mean_step = false;
};

Factory MakeFedOpt(ServerOptimizer kind) {
  return [kind](const StrategySpec& s) { return std::make_unique<FedOpt>(kind, s); };
}

std::unique_ptr<Strategy> MakeFedAvg(const StrategySpec& s) {
  return std::make_unique<FedAvg>(s.mask_aware);
}

// Bucketing or nearest-neighbour mixing before a robust rule.
template <typename Rule>
absl::StatusOr<std::unique_ptr<Strategy>> WithPreAggregation(
    absl::StatusOr<std::unique_ptr<Rule>> strategy, const StrategySpec& spec) {
  if (!strategy.ok()) return strategy.status();
  (*strategy)->set_bucket_size(spec.bucket_size);
  if (spec.nearest_neighbor_mixing) (*strategy)->set_nearest_neighbor_mixing(spec.byzantine);
  return std::unique_ptr<Strategy>(std::move(*strategy));
}

// One line per strategy.
const std::map<std::string, Registration>& Registry() {
  static const std::map<std::string, Registration> registry = {
      {"fedavg", {MakeFedAvg, nullptr, true}},
      // FedProx and SCAFFOLD aggregate the model as FedAvg; what else they do is a technique's
      // (engine/techniques/proximal_term.h, engine/techniques/scaffold_control.h).
      {"fedprox", {MakeFedAvg}},
      {"fedavgm", {MakeFedOpt(ServerOptimizer::kMomentum), nullptr, true}},
      {"fedadagrad", {MakeFedOpt(ServerOptimizer::kAdagrad), nullptr, true}},
      {"fedadam", {MakeFedOpt(ServerOptimizer::kAdam), nullptr, true}},
      {"fedyogi", {MakeFedOpt(ServerOptimizer::kYogi), nullptr, true}},
      {"diloco",
       {[](const StrategySpec& s) { return std::make_unique<DiLoCo>(s); }, nullptr, true}},
      {"lora_exact", {[](const StrategySpec&) { return std::make_unique<LoraExact>(); }}},
      {"scaffold", {MakeFedAvg}},
      {"median", {[](const StrategySpec& s) {
         return WithPreAggregation(absl::StatusOr<std::unique_ptr<CoordinateMedian>>(
                                       std::make_unique<CoordinateMedian>()),
                                   s);
       }}},
      {"trimmed_mean",
       {[](const StrategySpec& s) {
          return WithPreAggregation(TrimmedMean::Create(s.options.Get<TrimmedMeanOptions>()), s);
        },
        TrimmedMeanFields}},
      {"krum",
       {[](const StrategySpec& s) {
          return WithPreAggregation(Krum::Create(s.byzantine, s.options.Get<KrumOptions>()), s);
        },
        KrumFields}},
      {"norm_bounding",
       {[](const StrategySpec& s) -> absl::StatusOr<std::unique_ptr<Strategy>> {
          return NormBounding::Create(s.options.Get<NormBoundingOptions>(), s.mask_aware);
        },
        NormBoundingFields}},
  };
  return registry;
}

}  // namespace

const std::vector<std::string>& RegisteredStrategies() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& [name, registration] : Registry()) v.push_back(name);
    return v;
  }();
  return names;
}

std::vector<ConfigField<StrategySpec>> StrategyConfigFields() {
  std::vector<ConfigField<StrategySpec>> fields = StrategySpecFields();
  for (const auto& [name, registration] : Registry()) {
    if (registration.fields == nullptr) continue;
    for (ConfigField<StrategySpec>& f : registration.fields()) fields.push_back(std::move(f));
  }
  return fields;
}

bool StepsOnTheMeanOnly(const std::string& name) {
  auto it = Registry().find(name);
  return it != Registry().end() && it->second.mean_step;
}

std::string MeanStepStrategies() {
  std::vector<std::string> names;
  for (const auto& [name, registration] : Registry()) {
    if (registration.mean_step) names.push_back(name);
  }
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<std::unique_ptr<Strategy>> CreateStrategy(const StrategySpec& spec) {
  auto status = spec.Validate();
  if (!status.ok()) return status;
  auto it = Registry().find(spec.name);
  if (it == Registry().end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown strategy '", spec.name,
                     "' (registered: ", absl::StrJoin(RegisteredStrategies(), ", "), ")"));
  }
  return it->second.create(spec);
}

}  // namespace tributary
