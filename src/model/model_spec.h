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
  // Input and output shape; filled from the dataset. For "gpt", num_classes is the vocabulary.
  int64_t input_channels = 1;
  int64_t input_height = 28;
  int64_t input_width = 28;
  int64_t num_classes = 10;

  // "gpt" (decoder-only transformer): blocks, attention heads, embedding width, and the
  // context length (tokens per example).
  int layers = 4;
  int heads = 4;
  int embed = 256;
  int64_t context = 64;
  // LoRA (gpt only): rank r > 0 freezes every weight of the `base` checkpoint and trains
  // adapters B [out, r] and A [r, in] on the attention and MLP linear layers, scaled by
  // alpha / r. With lora_train_a false (FFA-LoRA) A stays at its seeded initial value and only
  // B is trained and sent. Only trained tensors are in the model's ModelState.
  int lora_rank = 0;
  double lora_alpha = 16.0;
  bool lora_train_a = true;
  std::string base;  // checkpoint of the full model (SaveModelState / simulate's model.pt)
  // Zeroth-order fine-tuning in a seeded subspace (FedKSeed; model/seed_subspace.h): seed_pool
  // K > 0 freezes the `base` checkpoint W0 and makes the model's state K coefficients c, the
  // weights W0 + sum_j c_j z_j with z_j ~ N(0, I) drawn from the pool's seed j. Trained with
  // train.optimizer = zo_sgd; every party must use the same seed_pool_seed.
  int seed_pool = 0;
  uint64_t seed_pool_seed = 1;
  // Checkpoint the global model starts from (e.g. a pre-trained model to fine-tune); every party
  // loads it locally, as the initial model. Empty: initialized from the seed.
  std::string init;

  // "torchscript": a module saved with torch.jit.save. Its float parameters (those that require
  // grad) are trained; its float buffers (e.g. batch-norm statistics) are carried in the model
  // state after them, averaged with the rest (buffers = "aggregate") or kept on each client
  // (buffers = "local", as strategy.local_layers does). The initial model is the saved one.
  std::string path;
  std::string buffers = "aggregate";
};

// Names accepted by ModelSpec::name: "mlp" (input -> hidden -> hidden -> classes, ReLU),
// "cnn" (the FedAvg CNN: conv5x5(32), pool, conv5x5(64), pool, fc(hidden), fc(classes)) and
// "gpt" (token + position embeddings, pre-LayerNorm causal attention and MLP blocks, output
// head tied to the token embedding) and "torchscript" (model.path).
const std::vector<std::string>& RegisteredModels();

// The CNN's spatial size after a valid 5x5 convolution and a 2x2 max-pool.
int64_t ConvPoolSize(int64_t size);

// Checks the name and that the shapes make sense for that model.
absl::Status ValidateModelSpec(const ModelSpec& spec);

// The settings a torchscript model reads (path, buffers) and refuses (width, LoRA).
absl::Status ValidateTorchScriptSpec(const ModelSpec& spec);

// True when the spec's tensors are LoRA adapters over a frozen base.
inline bool IsLora(const ModelSpec& spec) { return spec.name == "gpt" && spec.lora_rank > 0; }

// True when the spec's state is the coefficients of a seeded subspace over a frozen base.
inline bool IsSeedSubspace(const ModelSpec& spec) { return spec.seed_pool > 0; }

// Freshly initialized parameters (PyTorch's default initialization), fixed by `seed`.
// Thread-safe.
absl::StatusOr<ModelState> InitialModelState(const ModelSpec& spec, uint64_t seed);

// Names of the state's tensors that are buffers rather than parameters (torchscript only).
absl::StatusOr<std::vector<std::string>> ModelBufferNames(const ModelSpec& spec);

}  // namespace tributary

#endif  // TRIBUTARY_MODEL_MODEL_SPEC_H_
