#include "aggregate/strategy.h"

#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "aggregate/fedavg.h"

namespace tributary {
namespace {

using Factory = std::function<std::unique_ptr<Strategy>(const StrategySpec&)>;

// One line per strategy.
const std::map<std::string, Factory>& Registry() {
  static const std::map<std::string, Factory> registry = {
      {"fedavg", [](const StrategySpec&) { return std::make_unique<FedAvg>(); }},
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
  auto it = Registry().find(spec.name);
  if (it == Registry().end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown strategy '", spec.name,
                     "' (registered: ", absl::StrJoin(RegisteredStrategies(), ", "), ")"));
  }
  return it->second(spec);
}

}  // namespace tributary
