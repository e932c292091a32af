#include "train/local_trainer.h"

#include <torch/nn/functional/loss.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "model/network.h"
#include "train/tensor_dataset_tensors.h"

namespace tributary {
namespace {

// Examples per evaluation forward pass. Small enough that the activations stay in reused heap
// memory instead of fresh pages faulted in for every batch (a 1000-image batch of the
// Fashion-MNIST CNN had a 74 MB first layer), and that a server evaluating on two workers keeps
// its peak low (125 images took 20 MB per worker); 50 splits the 1250-example evaluation chunks
// evenly and is as fast per image.
constexpr int64_t kEvalBatch = 50;

std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(const TrainOptions& options,
                                                       const std::vector<torch::Tensor>& params) {
  if (options.optimizer == OptimizerKind::kAdamW) {
    return std::make_unique<torch::optim::AdamW>(params,
                                                 torch::optim::AdamWOptions(options.learning_rate)
                                                     .betas({options.beta1, options.beta2})
                                                     .weight_decay(options.weight_decay));
  }
  return std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(options.learning_rate)
                                                         .momentum(options.momentum)
                                                         .weight_decay(options.weight_decay));
}

absl::Status CheckIndices(std::span<const uint32_t> indices, size_t dataset_size) {
  for (uint32_t i : indices) {
    if (i >= dataset_size) {
      return absl::OutOfRangeError(
          absl::StrCat("example index ", i, " outside a dataset of ", dataset_size));
    }
  }
  return absl::OkStatus();
}

// Cross-entropy of logits [B, classes] against labels [B], or of a sequence model's logits
// [B, T, vocab] against next tokens [B, T] (every position counts).
torch::Tensor CrossEntropy(const torch::Tensor& logits, const torch::Tensor& y,
                           torch::nn::functional::CrossEntropyFuncOptions options = {}) {
  if (logits.dim() == 3) {
    return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(2)}),
                                                y.reshape({-1}), options);
  }
  return torch::nn::functional::cross_entropy(logits, y, options);
}

// The batch's mean training loss: the module's own when it defines one.
torch::Tensor TrainingLoss(Network& network, const torch::Tensor& x, const torch::Tensor& y) {
  if (network.has_own_loss()) return network.OwnLoss(x, y);
  return CrossEntropy(network.Forward(x), y);
}

// Adds one batch's summed loss, correct predictions and count to `result`. A module's own loss
// is taken to be a mean over the batch's targets. Outputs that are not class scores for the
// targets (one more dimension than they have) count no correct predictions.
void EvaluateBatch(Network& network, const torch::Tensor& x, const torch::Tensor& y,
                   EvalResult* result) {
  torch::Tensor logits = network.Forward(x);
  if (network.has_own_loss()) {
    result->loss_sum += network.OwnLoss(x, y).item<double>() * y.numel();
  } else {
    result->loss_sum +=
        CrossEntropy(logits, y,
                     torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
            .item<double>();
  }
  if (logits.dim() == y.dim() + 1) {
    result->correct += logits.argmax(-1).eq(y).sum().item<int64_t>();
  }
  result->count += y.numel();
}

std::string ParamKey(const torch::Tensor& p) {
  return c10::guts::to_string(p.unsafeGetTensorImpl());
}

// Hands the client's saved moments to a freshly built optimizer (torch keys its per-parameter
// state by tensor identity).
absl::Status RestoreOptimizerState(const OptimizerState& saved, OptimizerKind kind,
                                   const std::vector<torch::Tensor>& params,
                                   torch::optim::Optimizer& optimizer) {
  if (saved.step == 0) return absl::OkStatus();
  int64_t total = 0;
  for (const torch::Tensor& p : params) total += p.numel();
  const size_t second = kind == OptimizerKind::kAdamW ? total : 0;
  if (saved.first.size() != static_cast<size_t>(total) || saved.second.size() != second) {
    return absl::InvalidArgumentError("kept optimizer state does not fit this model");
  }
  int64_t offset = 0;
  for (const torch::Tensor& p : params) {
    auto view = [&](const std::vector<float>& buffer) {
      return torch::from_blob(const_cast<float*>(buffer.data()) + offset, p.sizes(),
                              torch::kFloat32)
          .clone();
    };
    if (kind == OptimizerKind::kAdamW) {
      auto state = std::make_unique<torch::optim::AdamWParamState>();
      state->step(saved.step);
      state->exp_avg(view(saved.first));
      state->exp_avg_sq(view(saved.second));
      optimizer.state()[ParamKey(p)] = std::move(state);
    } else {
      auto state = std::make_unique<torch::optim::SGDParamState>();
      state->momentum_buffer(view(saved.first));
      optimizer.state()[ParamKey(p)] = std::move(state);
    }
    offset += p.numel();
  }
  return absl::OkStatus();
}

void SaveOptimizerState(OptimizerKind kind, const std::vector<torch::Tensor>& params,
                        torch::optim::Optimizer& optimizer, int64_t steps_taken,
                        OptimizerState* saved) {
  int64_t total = 0;
  for (const torch::Tensor& p : params) total += p.numel();
  saved->first.assign(total, 0.0f);
  saved->second.assign(kind == OptimizerKind::kAdamW ? total : 0, 0.0f);
  saved->step += steps_taken;
  int64_t offset = 0;
  for (const torch::Tensor& p : params) {
    auto copy = [&](const torch::Tensor& t, std::vector<float>& buffer) {
      if (!t.defined()) return;
      torch::Tensor c = t.contiguous();
      std::memcpy(buffer.data() + offset, c.data_ptr<float>(), c.numel() * sizeof(float));
    };
    auto it = optimizer.state().find(ParamKey(p));
    if (it != optimizer.state().end()) {
      if (kind == OptimizerKind::kAdamW) {
        auto& state = static_cast<torch::optim::AdamWParamState&>(*it->second);
        copy(state.exp_avg(), saved->first);
        copy(state.exp_avg_sq(), saved->second);
      } else {
        copy(static_cast<torch::optim::SGDParamState&>(*it->second).momentum_buffer(),
             saved->first);
      }
    }
    offset += p.numel();
  }
}

// A round's local steps: train.steps, or train.epochs passes over the client's n examples.
int64_t TotalSteps(const TrainOptions& options, int64_t n) {
  if (options.steps > 0) return options.steps;
  return options.epochs * ((n + options.batch_size - 1) / options.batch_size);
}

// A client's mini-batches: its examples in an order shuffled by the seed's stream at the start
// of every pass; the last batch of a pass may be short.
class BatchCursor {
 public:
  BatchCursor(std::span<const uint32_t> indices, uint64_t seed, int64_t batch_size)
      : order_(indices.begin(), indices.end()),
        rng_(seed),
        batch_size_(batch_size),
        position_(order_.size()) {}
  // The next batch's example indices, viewing this cursor's order (valid until the next call).
  torch::Tensor Next() {
    const int64_t n = static_cast<int64_t>(order_.size());
    if (position_ >= n) {
      Shuffle(order_.data(), order_.size(), rng_);
      position_ = 0;
    }
    const int64_t batch = std::min<int64_t>(batch_size_, n - position_);
    torch::Tensor index = torch::from_blob(order_.data() + position_, {batch}, torch::kInt64);
    position_ += batch;
    return index;
  }

 private:
  std::vector<int64_t> order_;
  Rng rng_;
  int64_t batch_size_;
  int64_t position_;
};

// The batch's mean loss at weights `from` + `scale` z, written into the model's weights `w`.
double PerturbedLoss(Network& network, const torch::Tensor& x, const torch::Tensor& y,
                     std::span<const float> from, float scale, std::span<const float> z,
                     std::span<float> w) {
  for (size_t i = 0; i < w.size(); ++i) w[i] = from[i] + scale * z[i];
  c10::InferenceMode inference;
  return TrainingLoss(network, x, y).item<double>();
}

// One two-sided difference along z at weights `at`: (L(at + eps z) - L(at - eps z)) / (2 eps),
// and the mean of the two losses.
struct ZerothOrderEstimate {
  double derivative = 0.0;
  double mean_loss = 0.0;
};
ZerothOrderEstimate EstimateAlong(Network& network, const torch::Tensor& x, const torch::Tensor& y,
                                  std::span<const float> at, std::span<const float> z, double eps,
                                  std::span<float> w) {
  const float e = static_cast<float>(eps);
  const double plus = PerturbedLoss(network, x, y, at, e, z, w);
  const double minus = PerturbedLoss(network, x, y, at, -e, z, w);
  return {.derivative = (plus - minus) / (2.0 * eps), .mean_loss = 0.5 * (plus + minus)};
}

}  // namespace

struct LocalTrainer::Impl {
  std::unique_ptr<Network> network;
  TrainOptions options;
};

LocalTrainer::LocalTrainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LocalTrainer::~LocalTrainer() = default;

absl::StatusOr<std::unique_ptr<LocalTrainer>> LocalTrainer::Create(const ModelSpec& spec,
                                                                   const TrainOptions& options) {
  TRIB_RETURN_IF_ERROR(options.Validate());
  auto impl = std::make_unique<Impl>();
  TRIB_ASSIGN_OR_RETURN(impl->network, Network::Create(spec));
  impl->options = options;
  return std::unique_ptr<LocalTrainer>(new LocalTrainer(std::move(impl)));
}

const std::vector<TensorSpec>& LocalTrainer::layout() const { return impl_->network->layout(); }

absl::StatusOr<LocalTrainResult> LocalTrainer::Train(const ModelState& global,
                                                     const TensorDataset& data,
                                                     std::span<const uint32_t> indices,
                                                     uint64_t shuffle_seed, ModelState* delta,
                                                     const ModelState* gradient_correction,
                                                     OptimizerState* optimizer_state) {
  if (global.specs() != layout() || delta->specs() != layout() ||
      (gradient_correction != nullptr && gradient_correction->specs() != layout())) {
    return absl::InvalidArgumentError("model state layout does not match the trainer's model");
  }
  if (indices.empty()) return absl::InvalidArgumentError("client has no training examples");
  TRIB_RETURN_IF_ERROR(CheckIndices(indices, data.size()));
  const TrainOptions& options = impl_->options;
  if (options.optimizer == OptimizerKind::kZerothOrder) {
    if (gradient_correction != nullptr || optimizer_state != nullptr) {
      return absl::InvalidArgumentError(
          "zo_sgd takes no gradient correction (SCAFFOLD) and keeps no optimizer state");
    }
    return TrainZerothOrder(global, data, indices, shuffle_seed, delta);
  }
  Network& network = *impl_->network;
  if (network.subspace() != nullptr) {
    return absl::InvalidArgumentError(
        "a model.seed_pool model has no gradient to its coefficients: it trains with "
        "train.optimizer = zo_sgd");
  }
  const int64_t n = static_cast<int64_t>(indices.size());
  const int64_t total_steps = TotalSteps(options, n);

  try {
    network.LoadState(global);
    network.SetTraining(true);
    std::vector<torch::Tensor> parameters = network.Parameters();
    std::unique_ptr<torch::optim::Optimizer> optimizer = MakeOptimizer(options, parameters);
    if (optimizer_state != nullptr) {
      TRIB_RETURN_IF_ERROR(
          RestoreOptimizerState(*optimizer_state, options.optimizer, parameters, *optimizer));
    }
    const int64_t steps_before = optimizer_state != nullptr ? optimizer_state->step : 0;
    // FedProx anchors: the starting weights, whose pull mu * (w - anchor) joins the gradient.
    std::vector<torch::Tensor> anchors;
    if (options.proximal_mu > 0.0) {
      for (const torch::Tensor& p : parameters) anchors.push_back(p.detach().clone());
    }
    // SCAFFOLD's correction, one tensor per parameter (copied: the state may be shared).
    std::vector<torch::Tensor> corrections;
    if (gradient_correction != nullptr) {
      for (size_t p = 0; p < parameters.size(); ++p) {
        std::span<const float> c = gradient_correction->tensor(p);
        corrections.push_back(
            torch::from_blob(const_cast<float*>(c.data()), parameters[p].sizes(), torch::kFloat32)
                .clone());
      }
    }
    const LearningRateSchedule schedule = options.schedule();
    const bool scheduled = options.warmup_steps > 0 || options.decay_steps > 0;
    BatchCursor batches(indices, shuffle_seed, options.batch_size);
    double loss_sum = 0.0;
    int64_t seen = 0;
    for (int64_t step = 0; step < total_steps; ++step) {
      torch::Tensor index = batches.Next();
      const int64_t batch = index.numel();
      torch::Tensor x = data.tensors().Inputs(index);
      torch::Tensor y = data.tensors().targets.index_select(0, index);
      if (scheduled) {
        const double factor = schedule.Factor(steps_before + step + 1);
        for (auto& group : optimizer->param_groups()) {
          group.options().set_lr(options.learning_rate * factor);
        }
      }
      optimizer->zero_grad();
      torch::Tensor loss = TrainingLoss(network, x, y);
      loss.backward();
      // FedProx's term is part of the objective, so it is clipped with the loss's gradient;
      // SCAFFOLD's correction c - c_i changes the step's direction after clipping (clipping it
      // would distort the control variates).
      if (!anchors.empty()) {
        torch::NoGradGuard no_grad;
        for (size_t p = 0; p < parameters.size(); ++p) {
          parameters[p].mutable_grad().add_(parameters[p] - anchors[p], options.proximal_mu);
        }
      }
      if (options.clip_norm > 0.0) {
        torch::nn::utils::clip_grad_norm_(parameters, options.clip_norm);
      }
      if (!corrections.empty()) {
        torch::NoGradGuard no_grad;
        for (size_t p = 0; p < parameters.size(); ++p) {
          parameters[p].mutable_grad().add_(corrections[p]);
        }
      }
      optimizer->step();
      loss_sum += loss.item<double>() * batch;
      seen += batch;
    }
    if (!std::isfinite(loss_sum)) {
      return absl::FailedPreconditionError(
          "local training diverged (loss is not finite); lower train.lr");
    }
    if (optimizer_state != nullptr) {
      SaveOptimizerState(options.optimizer, parameters, *optimizer, total_steps, optimizer_state);
    }
    network.StoreState(delta);
    std::span<float> d = delta->flat();
    std::span<const float> g = global.flat();
    for (size_t i = 0; i < d.size(); ++i) d[i] -= g[i];
    return LocalTrainResult{.num_examples = n,
                            .steps = total_steps,
                            .examples_processed = seen,
                            .mean_loss = loss_sum / seen};
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("local training: ", TorchErrorText(e)));
  }
}

// MeZO's step (Malladi et al. 2023) along FedKSeed's pool (Qin et al. 2024): each step draws a
// seed j uniformly from the pool, estimates the directional derivative g along z_j from two
// forward passes on the batch, and moves the weights by -lr g z_j. The update the client sends
// is, per seed, the sum of its -lr g: the weights moved by exactly those multiples of the
// directions (up to the float rounding of the local steps). Forward passes run in evaluation
// mode, so both sides of a difference see the same network (no dropout).
absl::StatusOr<LocalTrainResult> LocalTrainer::TrainZerothOrder(const ModelState& global,
                                                                const TensorDataset& data,
                                                                std::span<const uint32_t> indices,
                                                                uint64_t shuffle_seed,
                                                                ModelState* delta) {
  const TrainOptions& options = impl_->options;
  Network& network = *impl_->network;
  SubspaceWeights* subspace = network.subspace();
  if (subspace == nullptr) {
    return absl::InvalidArgumentError("train.optimizer = zo_sgd needs model.seed_pool > 0");
  }
  const int64_t n = static_cast<int64_t>(indices.size());
  const int64_t total_steps = TotalSteps(options, n);
  const SeedSubspace& space = *subspace->space;
  try {
    torch::NoGradGuard no_grad;
    network.LoadState(global);
    network.SetTraining(false);
    std::span<float> w(subspace->weights.data_ptr<float>(), space.dimension());
    std::vector<float> current(w.begin(), w.end());
    std::vector<float> z(space.dimension());
    std::span<float> sums = delta->flat();
    std::fill(sums.begin(), sums.end(), 0.0f);
    const LearningRateSchedule schedule = options.schedule();
    BatchCursor batches(indices, shuffle_seed, options.batch_size);
    Rng choice(DeriveSeed(shuffle_seed, 0, 0, RngPurpose::kSeedChoice));
    std::uniform_int_distribution<uint32_t> pick(0, space.pool_size() - 1);
    double loss_sum = 0.0;
    int64_t seen = 0;
    for (int64_t step = 0; step < total_steps; ++step) {
      torch::Tensor index = batches.Next();
      const int64_t batch = index.numel();
      torch::Tensor x = data.tensors().Inputs(index);
      torch::Tensor y = data.tensors().targets.index_select(0, index);
      const uint32_t j = pick(choice);
      space.Direction(j, z);
      const ZerothOrderEstimate estimate =
          EstimateAlong(network, x, y, current, z, options.zo_eps, w);
      if (!std::isfinite(estimate.derivative)) {
        return absl::FailedPreconditionError(
            "zeroth-order training diverged (loss is not finite); lower train.lr");
      }
      const double lr = options.learning_rate * schedule.Factor(step + 1);
      const float move = static_cast<float>(-lr * estimate.derivative);
      for (size_t i = 0; i < current.size(); ++i) current[i] += move * z[i];
      sums[j] += move;
      loss_sum += estimate.mean_loss * batch;
      seen += batch;
    }
    return LocalTrainResult{.num_examples = n,
                            .steps = total_steps,
                            .examples_processed = seen,
                            .mean_loss = loss_sum / seen};
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("zeroth-order training: ", TorchErrorText(e)));
  }
}

absl::StatusOr<double> LocalTrainer::DirectionalDerivative(const ModelState& model,
                                                           const TensorDataset& data,
                                                           std::span<const uint32_t> indices,
                                                           uint32_t seed_index) {
  SubspaceWeights* subspace = impl_->network->subspace();
  if (subspace == nullptr) return absl::InvalidArgumentError("not a model.seed_pool model");
  if (model.specs() != layout()) {
    return absl::InvalidArgumentError("model state layout does not match the trainer's model");
  }
  if (indices.empty()) return absl::InvalidArgumentError("no examples");
  if (seed_index >= static_cast<uint32_t>(subspace->space->pool_size())) {
    return absl::OutOfRangeError(absl::StrCat("seed index ", seed_index, " outside the pool"));
  }
  TRIB_RETURN_IF_ERROR(CheckIndices(indices, data.size()));
  try {
    torch::NoGradGuard no_grad;
    Network& network = *impl_->network;
    network.LoadState(model);
    network.SetTraining(false);
    std::span<float> w(subspace->weights.data_ptr<float>(), subspace->space->dimension());
    const std::vector<float> at(w.begin(), w.end());
    std::vector<float> z(at.size());
    subspace->space->Direction(seed_index, z);
    std::vector<int64_t> order(indices.begin(), indices.end());
    torch::Tensor index =
        torch::from_blob(order.data(), {static_cast<int64_t>(order.size())}, torch::kInt64);
    const double derivative = EstimateAlong(network, data.tensors().Inputs(index),
                                            data.tensors().targets.index_select(0, index), at, z,
                                            impl_->options.zo_eps, w)
                                  .derivative;
    std::copy(at.begin(), at.end(), w.begin());
    return derivative;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("directional derivative: ", TorchErrorText(e)));
  }
}

absl::StatusOr<EvalResult> LocalTrainer::Evaluate(const ModelState& model,
                                                  const TensorDataset& data, size_t begin,
                                                  size_t end) {
  if (model.specs() != layout()) {
    return absl::InvalidArgumentError("model state layout does not match the trainer's model");
  }
  if (begin > end || end > data.size()) {
    return absl::OutOfRangeError(
        absl::StrCat("evaluation range [", begin, ", ", end, ") outside ", data.size()));
  }
  try {
    torch::NoGradGuard no_grad;
    Network& network = *impl_->network;
    network.LoadState(model);
    network.SetTraining(false);
    EvalResult result;
    // Inference mode also skips autograd's version counting and view tracking (the weights
    // were loaded above, outside it, so they stay ordinary trainable tensors).
    c10::InferenceMode inference;
    for (int64_t start = begin; start < static_cast<int64_t>(end); start += kEvalBatch) {
      const int64_t stop = std::min<int64_t>(start + kEvalBatch, end);
      EvaluateBatch(network, data.tensors().Inputs(start, stop),
                    data.tensors().targets.slice(0, start, stop), &result);
    }
    return result;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("evaluation: ", TorchErrorText(e)));
  }
}

absl::StatusOr<EvalResult> LocalTrainer::EvaluateExamples(const ModelState& model,
                                                          const TensorDataset& data,
                                                          std::span<const uint32_t> indices) {
  if (model.specs() != layout()) {
    return absl::InvalidArgumentError("model state layout does not match the trainer's model");
  }
  TRIB_RETURN_IF_ERROR(CheckIndices(indices, data.size()));
  try {
    torch::NoGradGuard no_grad;
    Network& network = *impl_->network;
    network.LoadState(model);
    network.SetTraining(false);
    std::vector<int64_t> order(indices.begin(), indices.end());
    EvalResult result;
    c10::InferenceMode inference;  // as in Evaluate
    for (size_t start = 0; start < order.size(); start += kEvalBatch) {
      const int64_t batch = std::min<int64_t>(kEvalBatch, order.size() - start);
      torch::Tensor index = torch::from_blob(order.data() + start, {batch}, torch::kInt64);
      EvaluateBatch(network, data.tensors().Inputs(index),
                    data.tensors().targets.index_select(0, index), &result);
    }
    return result;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("evaluation: ", TorchErrorText(e)));
  }
}

absl::Status CheckModelFitsData(const ModelSpec& spec, const TensorDataset& data) {
  if (data.size() == 0) return absl::InvalidArgumentError("the training set is empty");
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Network> network, Network::Create(spec));
  const int64_t batch = std::min<int64_t>(2, data.size());
  const torch::Tensor x = data.tensors().Inputs(0, batch);
  const torch::Tensor y = data.tensors().targets.slice(0, 0, batch);
  auto shape = [](const torch::Tensor& t) { return c10::str(t.sizes()); };
  const std::string where = absl::StrCat("model ", spec.name, spec.path.empty() ? "" : " (",
                                         spec.path, spec.path.empty() ? "" : ")");
  try {
    torch::NoGradGuard no_grad;
    network->SetTraining(false);
    const torch::Tensor out = network->Forward(x);
    if (network->has_own_loss()) {
      const torch::Tensor loss = network->OwnLoss(x, y);
      if (loss.numel() != 1 || !loss.is_floating_point()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": loss(inputs, targets) must return one float, got shape ", shape(loss)));
      }
      return absl::OkStatus();
    }
    // Without its own loss the output is scored with cross-entropy: class scores with one more
    // dimension than the targets, and as many classes as the data has.
    if (!out.is_floating_point() || out.dim() != y.dim() + 1 || out.size(0) != batch ||
        out.size(-1) != spec.num_classes) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, " does not fit the data: for inputs of shape ", shape(x), " forward returned ",
          shape(out), " (", c10::toString(out.scalar_type()),
          "); cross-entropy needs float scores ", y.dim() == 1 ? "[batch, " : "[batch, T, ",
          spec.num_classes, "] (or define loss(inputs, targets) in the module)"));
    }
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(where, " does not fit inputs of shape ",
                                                   shape(x), " (", c10::toString(x.scalar_type()),
                                                   "): ", TorchErrorText(e)));
  }
  return absl::OkStatus();
}

}  // namespace tributary
