// model.name = "torchscript": a module written in Python, saved with torch.jit.save, loaded with
// torch::jit::load and trained like a built-in model. Internal to model/: pulls in libtorch.
#ifndef TRIBUTARY_MODEL_TORCHSCRIPT_NETWORK_H_
#define TRIBUTARY_MODEL_TORCHSCRIPT_NETWORK_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/model_spec.h"
#include "model/network.h"

namespace tributary {

// Loads model.path. The state is the module's float parameters that require grad, in
// named_parameters() order, then (unless none) its float buffers in named_buffers() order.
// Buffers of other types (batch norm's num_batches_tracked) are not in the state: they are put
// back to their saved values on every LoadState, so a replica's history never leaks into
// another client's training. Fails with a clear error for a missing or unreadable file, a
// module without forward, or a parameter that is not contiguous fp32.
absl::StatusOr<std::unique_ptr<Network>> LoadTorchScriptNetwork(const ModelSpec& spec);

}  // namespace tributary

#endif  // TRIBUTARY_MODEL_TORCHSCRIPT_NETWORK_H_
