// Frozen base checkpoints shared by every model replica in the process: LoRA replicas view one
// copy of the base weights instead of each holding its own.
#ifndef TRIBUTARY_MODEL_SHARED_BASE_H_
#define TRIBUTARY_MODEL_SHARED_BASE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tensor/model_state.h"

namespace tributary {

// The checkpoint at `path`, loaded once while any holder keeps it alive. Thread-safe.
absl::StatusOr<std::shared_ptr<const ModelState>> LoadSharedBase(const std::string& path);

}  // namespace tributary

#endif  // TRIBUTARY_MODEL_SHARED_BASE_H_
