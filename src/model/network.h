// A torch module built from a ModelSpec, with copies to and from ModelState.
// Internal to model/ and train/: this header pulls in libtorch.
//
// Thread-safety: one Network per thread; distinct Networks may be used concurrently.
#ifndef TRIBUTARY_MODEL_NETWORK_H_
#define TRIBUTARY_MODEL_NETWORK_H_

#include <torch/nn.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "model/model_spec.h"
#include "model/seed_subspace.h"
#include "tensor/model_state.h"

namespace tributary {

// A seeded-subspace model's (model.seed_pool) inner weights W = W0 + sum_j c_j z_j: one
// contiguous tensor that the wrapped model's parameters view, which zeroth-order training
// perturbs and steps in place.
struct SubspaceWeights {
  std::shared_ptr<const SeedSubspace> space;
  torch::Tensor weights;  // [dimension], float
};

class Network {
 public:
  // Builds the model with PyTorch's default initialization from torch's global generator,
  // seeded with `init_seed` first when given. Construction holds a process-wide lock, so a
  // seeded initialization is reproducible while other threads build models.
  static absl::StatusOr<std::unique_ptr<Network>> Create(
      const ModelSpec& spec, std::optional<uint64_t> init_seed = std::nullopt);

  // What a network is made of, whatever built it: a C++ module or a loaded TorchScript one.
  struct Parts {
    std::shared_ptr<void> owner;  // keeps the module (and a LoRA base) alive
    std::function<torch::Tensor(const torch::Tensor&)> forward;
    std::function<void(bool)> set_training;
    // The module's own training loss of (inputs, targets), when it defines one; otherwise
    // cross-entropy over Forward's output.
    std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)> loss;
    // The model state: trained parameters first, then any float buffers it carries (e.g.
    // batch-norm statistics), each with its name.
    std::vector<std::pair<std::string, torch::Tensor>> parameters, buffers;
    // Called after every LoadState (restores state that is not in the ModelState).
    std::function<void()> after_load;
    // Set for a seeded-subspace model.
    std::shared_ptr<SubspaceWeights> subspace;
  };
  static std::unique_ptr<Network> FromParts(Parts parts);

  // Logits of shape [batch, num_classes] for input [batch, channels, height, width]; for "gpt",
  // logits [batch, T, vocab] for tokens [batch, T].
  torch::Tensor Forward(const torch::Tensor& input) { return parts_.forward(input); }
  // Whether the module defines its own training loss (Parts::loss); OwnLoss requires it.
  bool has_own_loss() const { return static_cast<bool>(parts_.loss); }
  torch::Tensor OwnLoss(const torch::Tensor& input, const torch::Tensor& target) {
    return parts_.loss(input, target);
  }
  // The trained tensors (not buffers), in layout order.
  const std::vector<torch::Tensor>& Parameters() const { return parameters_; }
  void SetTraining(bool training) { parts_.set_training(training); }
  // The weights a seeded-subspace model runs with (model.seed_pool), or null.
  SubspaceWeights* subspace() const { return parts_.subspace.get(); }

  // The ModelState layout: parameters in registration order, then carried buffers.
  const std::vector<TensorSpec>& layout() const { return layout_; }
  // Requires: state.specs() == layout().
  void LoadState(const ModelState& state);
  // Requires: state->specs() == layout().
  void StoreState(ModelState* state) const;

 private:
  explicit Network(Parts parts);

  Parts parts_;
  std::vector<torch::Tensor> parameters_;
  std::vector<torch::Tensor> state_tensors_;  // parameters then buffers, same order as layout_
  std::vector<TensorSpec> layout_;
};

// A torch error's message without its C++ backtrace; for a TorchScript error (which derives
// from std::runtime_error, not c10::Error), its last line, where the Python-side error is.
std::string TorchErrorText(const std::exception& e);

}  // namespace tributary

#endif  // TRIBUTARY_MODEL_NETWORK_H_
