// The datasets by name (data.dataset). Adding one: its file pair under engine/datasets/ and one
// line in dataset_registry.cc (docs/architecture.md).
#ifndef TRIBUTARY_ENGINE_DATASET_REGISTRY_H_
#define TRIBUTARY_ENGINE_DATASET_REGISTRY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/dataset.h"

namespace tributary {

// The dataset called `name`, or an error that lists the registered ones.
absl::StatusOr<const Dataset*> FindDataset(const std::string& name);
std::vector<std::string> RegisteredDatasets();

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_DATASET_REGISTRY_H_
