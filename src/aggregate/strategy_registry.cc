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

using Factory = std::function<std::unique_ptr<Strategy>(const StrategySpec&)>;

Factory MakeFedOpt(ServerOptimizer kind) {
  return [kind](const StrategySpec& s) { return std::make_unique<FedOpt>(kind, s); };
}

// Bucketing or nearest-neighbour mixing before a robust rule.
std::unique_ptr<Strategy> WithPreAggregation(std::unique_ptr<BufferedStrategy> strategy,
                                             const StrategySpec& spec) {
  strategy->set_bucket_size(spec.bucket_size);
  if (spec.nearest_neighbor_mixing) strategy->set_nearest_neighbor_mixing(spec.byzantine);
  return strategy;
}

// One line per strategy.
const std::map<std::string, Factory>& Registry() {
  static const std::map<std::string, Factory> registry = {
      {"fedavg", [](const StrategySpec& s) { return std::make_unique<FedAvg>(s.mask_aware); }},
      // FedProx and SCAFFOLD aggregate the model as FedAvg; what else they do is a technique's
      // (engine/techniques/proximal_term.h, engine/techniques/scaffold_control.h).
      {"fedprox", [](const StrategySpec& s) { return std::make_unique<FedAvg>(s.mask_aware); }},
      {"fedavgm", MakeFedOpt(ServerOptimizer::kMomentum)},
      {"fedadagrad", MakeFedOpt(ServerOptimizer::kAdagrad)},
      {"fedadam", MakeFedOpt(ServerOptimizer::kAdam)},
      {"fedyogi", MakeFedOpt(ServerOptimizer::kYogi)},
      {"diloco", [](const StrategySpec& s) { return std::make_unique<DiLoCo>(s); }},
      {"lora_exact", [](const StrategySpec&) { return std::make_unique<LoraExact>(); }},
      {"scaffold", [](const StrategySpec& s) { return std::make_unique<FedAvg>(s.mask_aware); }},
      {"median",
       [](const StrategySpec& s) {
         return WithPreAggregation(std::make_unique<CoordinateMedian>(), s);
       }},
      {"trimmed_mean",
       [](const StrategySpec& s) {
         return WithPreAggregation(std::make_unique<TrimmedMean>(s.trim_ratio), s);
       }},
      {"krum",
       [](const StrategySpec& s) {
         return WithPreAggregation(std::make_unique<Krum>(s.byzantine, s.krum_select), s);
       }},
      {"norm_bounding",
       [](const StrategySpec& s) {
         return std::make_unique<NormBounding>(s.norm_bound, s.mask_aware);
       }},
  };
  return registry;
}

}  // namespace

const std::vector<std::string>& RegisteredStrategies() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& [name, factory] : Registry()) v.push_back(name);
    return v;
  }();
  return names;
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
  return it->second(spec);
}

}  // namespace tributary
