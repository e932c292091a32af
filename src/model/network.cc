#include "model/network.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "model/blocked_max_pool_relu.h"
#include "model/gpt.h"
#include "model/max_pool_2x2.h"
#include "model/onednn_convolution.h"
#include "model/shared_base.h"
#include "model/torchscript_network.h"

namespace tributary {
namespace {

// A hidden width times the model's width multiplier, rounded up, at least 1.
int64_t Scaled(int64_t channels, double width) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(channels * width)));
}

struct MlpImpl : torch::nn::Module {
  MlpImpl(const ModelSpec& spec) {
    const int64_t inputs = spec.input_channels * spec.input_height * spec.input_width;
    const int64_t hidden = Scaled(spec.hidden, spec.width);
    fc1 = register_module("fc1", torch::nn::Linear(inputs, hidden));
    fc2 = register_module("fc2", torch::nn::Linear(hidden, hidden));
    fc3 = register_module("fc3", torch::nn::Linear(hidden, spec.num_classes));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor h = torch::relu(fc1(x.flatten(1)));
    h = torch::relu(fc2(h));
    return fc3(h);
  }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
};

struct CnnImpl : torch::nn::Module {
  CnnImpl(const ModelSpec& spec) {
    const int64_t channels1 = Scaled(32, spec.width), channels2 = Scaled(64, spec.width);
    const int64_t hidden = Scaled(spec.hidden, spec.width);
    conv1 = register_module(
        "conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(spec.input_channels, channels1, 5)));
    conv2 = register_module("conv2",
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(channels1, channels2, 5)));
    // Flattened channel-major, so a narrower model's inputs are a leading block of these.
    const int64_t flat = channels2 * ConvPoolSize(ConvPoolSize(spec.input_height)) *
                         ConvPoolSize(ConvPoolSize(spec.input_width));
    fc1 = register_module("fc1", torch::nn::Linear(flat, hidden));
    fc2 = register_module("fc2", torch::nn::Linear(hidden, spec.num_classes));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor h = BlockedLayersFit(x) ? BlockedFeatures(x) : Features(x);
    h = torch::relu(fc1(h.flatten(1)));
    return fc2(h);
  }
  // ReLU after the pooling: max_pool(relu(c)) == relu(max_pool(c)) value for value, and the
  // gradients agree too (both pick the window's first maximum, and relu' is 0 wherever a window's
  // maximum is <= 0), but the ReLU and its saved output are a quarter of the size.
  torch::Tensor Features(const torch::Tensor& x) {
    const torch::Tensor h = torch::relu(MaxPool2x2(conv1(x)));
    return torch::relu(MaxPool2x2(conv2(h)));
  }
  // The same layers with the activations in oneDNN's channel-blocked layout, where its kernels
  // take both convolutions so (model/onednn_convolution.h): the same results bit for bit,
  // without the reorders libtorch makes around every convolution.
  bool BlockedLayersFit(const torch::Tensor& x) {
    if (x.dim() != 4 || !x.device().is_cpu() || x.scalar_type() != torch::kFloat) return false;
    const int64_t block = BlockedConv2dOutputBlock(x.sizes(), conv1->weight, x.requires_grad());
    if (block == 0) return false;
    const std::vector<int64_t> pooled{x.size(0), conv1->weight.size(0) / block,
                                      ConvPoolSize(x.size(2)), ConvPoolSize(x.size(3)), block};
    return BlockedConv2dOutputBlock(pooled, conv2->weight, /*input_needs_grad=*/true) != 0;
  }
  torch::Tensor BlockedFeatures(const torch::Tensor& x) {
    const torch::Tensor h =
        BlockedMaxPool2x2Relu(BlockedConv2d(x, conv1->weight, conv1->bias), false);
    return BlockedMaxPool2x2Relu(BlockedConv2d(h, conv2->weight, conv2->bias), true);
  }
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};

// model.seed_pool: the full model (its own initialization is overwritten) with its parameters
// rebound to views of one flat tensor, filled with W(c) whenever coefficients c are loaded.
absl::StatusOr<std::unique_ptr<Network>> CreateSeedSubspaceNetwork(const ModelSpec& spec) {
  TRIB_ASSIGN_OR_RETURN(std::shared_ptr<const SeedSubspace> space,
                        LoadSharedSubspace(spec.base, spec.seed_pool, spec.seed_pool_seed));
  ModelSpec full = spec;
  full.seed_pool = 0;
  full.base.clear();
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Network> made, Network::Create(full));
  std::shared_ptr<Network> inner = std::move(made);
  if (inner->layout() != space->base().specs() ||
      inner->layout().size() != inner->Parameters().size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.base ", spec.base, " does not hold this model's parameters (",
                     space->base().specs().size(), " tensors in the file, ", inner->layout().size(),
                     " in the model): it must be a model.pt of the same model.name and sizes"));
  }
  auto subspace = std::make_shared<SubspaceWeights>();
  subspace->space = space;
  subspace->weights = torch::empty({static_cast<int64_t>(space->dimension())}, torch::kFloat32);
  {
    torch::NoGradGuard no_grad;
    int64_t offset = 0;
    for (torch::Tensor parameter : inner->Parameters()) {
      parameter.set_data(
          subspace->weights.narrow(0, offset, parameter.numel()).view(parameter.sizes()));
      offset += parameter.numel();
    }
  }
  torch::Tensor coefficients = torch::zeros({spec.seed_pool}, torch::kFloat32);
  Network::Parts parts;
  parts.forward = [raw = inner.get()](const torch::Tensor& x) { return raw->Forward(x); };
  parts.set_training = [raw = inner.get()](bool training) { raw->SetTraining(training); };
  if (inner->has_own_loss()) {
    parts.loss = [raw = inner.get()](const torch::Tensor& x, const torch::Tensor& y) {
      return raw->OwnLoss(x, y);
    };
  }
  parts.parameters.emplace_back("seed_coefficients", coefficients);
  parts.after_load = [subspace, coefficients] {
    std::shared_ptr<const std::vector<float>> weights = subspace->space->Weights(
        {coefficients.data_ptr<float>(), static_cast<size_t>(coefficients.numel())});
    std::memcpy(subspace->weights.data_ptr<float>(), weights->data(),
                weights->size() * sizeof(float));
  };
  parts.after_load();
  parts.subspace = std::move(subspace);
  parts.owner = std::move(inner);
  return Network::FromParts(std::move(parts));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Network>> Network::Create(const ModelSpec& spec,
                                                         std::optional<uint64_t> init_seed) {
  TRIB_RETURN_IF_ERROR(ValidateModelSpec(spec));
  // Nothing random to draw: the coefficients start at zero, the weights at the base.
  if (IsSeedSubspace(spec)) return CreateSeedSubspaceNetwork(spec);
  // Torch's default generator is process-global: every construction draws from it, so one
  // thread's draws must not fall between another's seeding and its draws.
  static std::mutex generator_mutex;
  std::lock_guard<std::mutex> lock(generator_mutex);
  if (init_seed.has_value()) torch::manual_seed(*init_seed);
  try {
    if (spec.name == "torchscript") return LoadTorchScriptNetwork(spec);
    std::shared_ptr<const ModelState> base;
    std::shared_ptr<torch::nn::Module> module;
    std::function<torch::Tensor(const torch::Tensor&)> forward;
    if (spec.name == "gpt") {
      if (IsLora(spec)) {
        TRIB_ASSIGN_OR_RETURN(base, LoadSharedBase(spec.base));
      }
      TRIB_ASSIGN_OR_RETURN(module, CreateGpt(spec, base.get()));
      forward = [raw = module.get()](const torch::Tensor& x) { return GptForward(*raw, x); };
    } else if (spec.name == "mlp") {
      auto mlp = std::make_shared<MlpImpl>(spec);
      forward = [raw = mlp.get()](const torch::Tensor& x) { return raw->forward(x); };
      module = std::move(mlp);
    } else {
      auto cnn = std::make_shared<CnnImpl>(spec);
      forward = [raw = cnn.get()](const torch::Tensor& x) { return raw->forward(x); };
      module = std::move(cnn);
    }
    Parts parts;
    parts.forward = std::move(forward);
    parts.set_training = [raw = module.get()](bool training) { raw->train(training); };
    for (const auto& item : module->named_parameters()) {
      parts.parameters.emplace_back(item.key(), item.value());
    }
    parts.owner = std::make_shared<
        std::pair<std::shared_ptr<torch::nn::Module>, std::shared_ptr<const ModelState>>>(
        std::move(module), std::move(base));
    return FromParts(std::move(parts));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("building model '", spec.name, "': ", TorchErrorText(e)));
  }
}

std::string TorchErrorText(const std::exception& e) {
  if (const auto* error = dynamic_cast<const c10::Error*>(&e)) {
    return error->what_without_backtrace();
  }
  std::string_view text = e.what();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  const size_t newline = text.rfind('\n');
  return std::string(newline == std::string_view::npos ? text : text.substr(newline + 1));
}

std::unique_ptr<Network> Network::FromParts(Parts parts) {
  return std::unique_ptr<Network>(new Network(std::move(parts)));
}

Network::Network(Parts parts) : parts_(std::move(parts)) {
  for (const auto& [name, tensor] : parts_.parameters) {
    parameters_.push_back(tensor);
    state_tensors_.push_back(tensor);
    layout_.push_back({name, tensor.sizes().vec()});
  }
  for (const auto& [name, tensor] : parts_.buffers) {
    state_tensors_.push_back(tensor);
    layout_.push_back({name, tensor.sizes().vec()});
  }
}

void Network::LoadState(const ModelState& state) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < state_tensors_.size(); ++i) {
    std::span<const float> src = state.tensor(i);
    std::memcpy(state_tensors_[i].data_ptr<float>(), src.data(), src.size_bytes());
  }
  if (parts_.after_load) parts_.after_load();
}

void Network::StoreState(ModelState* state) const {
  for (size_t i = 0; i < state_tensors_.size(); ++i) {
    std::span<float> dst = state->tensor(i);
    std::memcpy(dst.data(), state_tensors_[i].data_ptr<float>(), dst.size_bytes());
  }
}

absl::StatusOr<ModelState> InitialModelState(const ModelSpec& spec, uint64_t seed) {
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Network> network,
                        Network::Create(spec, DeriveSeed(seed, 0, 0, RngPurpose::kModelInit)));
  TRIB_ASSIGN_OR_RETURN(ModelState state, ModelState::Zeros(network->layout()));
  network->StoreState(&state);
  return state;
}

absl::StatusOr<std::vector<std::string>> ModelBufferNames(const ModelSpec& spec) {
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Network> network, Network::Create(spec));
  std::vector<std::string> names;
  for (size_t i = network->Parameters().size(); i < network->layout().size(); ++i) {
    names.push_back(network->layout()[i].name);
  }
  return names;
}

}  // namespace tributary
