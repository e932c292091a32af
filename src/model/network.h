// A torch module built from a ModelSpec, with copies to and from ModelState.
// Internal to model/ and train/: this header pulls in libtorch.
//
// Thread-safety: one Network per thread; distinct Networks may be used concurrently.
#ifndef TRIBUTARY_MODEL_NETWORK_H_
#define TRIBUTARY_MODEL_NETWORK_H_

#include <torch/nn.h>

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "model/model_spec.h"
#include "tensor/model_state.h"

namespace tributary {

class Network {
 public:
  // Builds the model with PyTorch's default initialization from torch's global generator,
  // seeded with `init_seed` first when given. Construction holds a process-wide lock, so a
  // seeded initialization is reproducible while other threads build models.
  static absl::StatusOr<std::unique_ptr<Network>> Create(
      const ModelSpec& spec, std::optional<uint64_t> init_seed = std::nullopt);

  // Logits of shape [batch, num_classes] for input [batch, channels, height, width]; for "gpt",
  // logits [batch, T, vocab] for tokens [batch, T].
  torch::Tensor Forward(const torch::Tensor& input);
  std::vector<torch::Tensor> Parameters() const { return module_->parameters(); }
  void SetTraining(bool training) { module_->train(training); }

  // The ModelState layout of this network's parameters, in registration order.
  const std::vector<TensorSpec>& layout() const { return layout_; }
  // Requires: state.specs() == layout().
  void LoadState(const ModelState& state);
  // Requires: state->specs() == layout().
  void StoreState(ModelState* state) const;

 private:
  Network(std::shared_ptr<torch::nn::Module> module,
          std::function<torch::Tensor(const torch::Tensor&)> forward,
          std::shared_ptr<const ModelState> base = nullptr);

  std::shared_ptr<const ModelState> base_;  // frozen weights the module views (LoRA)
  std::shared_ptr<torch::nn::Module> module_;
  std::function<torch::Tensor(const torch::Tensor&)> forward_;
  std::vector<torch::Tensor> parameters_;  // same order as layout_
  std::vector<TensorSpec> layout_;
};

}  // namespace tributary

#endif  // TRIBUTARY_MODEL_NETWORK_H_
