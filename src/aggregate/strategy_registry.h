// The strategies by name (strategy.name). Adding a strategy: its file pair in aggregate/ and
// one line in strategy_registry.cc (with its own keys, if it has any: docs/architecture.md).
#ifndef TRIBUTARY_AGGREGATE_STRATEGY_REGISTRY_H_
#define TRIBUTARY_AGGREGATE_STRATEGY_REGISTRY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "aggregate/strategy.h"

namespace tributary {

const std::vector<std::string>& RegisteredStrategies();
// Every [strategy] key: the shared parameters' and those single strategies declare.
std::vector<ConfigField<StrategySpec>> StrategyConfigFields();
// True when the strategy's server step reads only the mean of the round's updates, so that it can
// step on a mean formed elsewhere: noised (differential privacy) or unmasked (secure
// aggregation). MeanStepStrategies() lists them, for messages.
bool StepsOnTheMeanOnly(const std::string& name);
std::string MeanStepStrategies();
// Validates `spec` and builds the strategy it names.
absl::StatusOr<std::unique_ptr<Strategy>> CreateStrategy(const StrategySpec& spec);

}  // namespace tributary

#endif  // TRIBUTARY_AGGREGATE_STRATEGY_REGISTRY_H_
