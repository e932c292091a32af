// The strategies by name (strategy.name). Adding a strategy: its file pair in aggregate/ and
// one line in strategy_registry.cc (docs/architecture.md).
#ifndef TRIBUTARY_AGGREGATE_STRATEGY_REGISTRY_H_
#define TRIBUTARY_AGGREGATE_STRATEGY_REGISTRY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "aggregate/strategy.h"

namespace tributary {

const std::vector<std::string>& RegisteredStrategies();
// Validates `spec` and builds the strategy it names.
absl::StatusOr<std::unique_ptr<Strategy>> CreateStrategy(const StrategySpec& spec);

}  // namespace tributary

#endif  // TRIBUTARY_AGGREGATE_STRATEGY_REGISTRY_H_
