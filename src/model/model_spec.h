// Which model to build, by registry name. Torch-free: everything outside model/ and train/
// sees models only as ModelState.
#ifndef TRIBUTARY_MODEL_MODEL_SPEC_H_
#define TRIBUTARY_MODEL_MODEL_SPEC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tensor/model_state.h"

namespace tributary {

struct ModelSpec {
  std::string name = "cnn";  // one of RegisteredModels()
  int hidden = 128;          // width of the hidden fully connected layer(s)
  // Multiplies every hidden width (conv channels, hidden units; not inputs or classes). A model
  // of width w < 1 is a leading-channel slice of the full one (HeteroFL).
  double width = 1.0;
  // Input and output shape; filled from the dataset.
  int64_t input_channels = 1;
  int64_t input_height = 28;
  int64_t input_width = 28;
  int64_t num_classes = 10;
};

// Names accepted by ModelSpec::name: "mlp" (input -> hidden -> hidden -> classes, ReLU) and
// "cnn" (the FedAvg CNN: conv5x5(32), pool, conv5x5(64), pool, fc(hidden), fc(classes)).
const std::vector<std::string>& RegisteredModels();

// Checks the name and that the shapes make sense for that model.
absl::Status ValidateModelSpec(const ModelSpec& spec);

// Freshly initialized parameters (PyTorch's default initialization), fixed by `seed`.
// Thread-safe.
absl::StatusOr<ModelState> InitialModelState(const ModelSpec& spec, uint64_t seed);

}  // namespace tributary

#endif  // TRIBUTARY_MODEL_MODEL_SPEC_H_
