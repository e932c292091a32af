// LocalTrainer: one model replica that trains a client's copy of the global model on the
// client's examples, and evaluates models. Torch-free header.
//
// Thread-safety: not thread-safe. Give each worker thread its own LocalTrainer; distinct
// trainers may run concurrently over one shared TensorDataset.
#ifndef TRIBUTARY_TRAIN_LOCAL_TRAINER_H_
#define TRIBUTARY_TRAIN_LOCAL_TRAINER_H_

#include <cstdint>
#include <memory>
#include <span>

#include "absl/status/statusor.h"
#include "model/model_spec.h"
#include "tensor/model_state.h"
#include "train/optimizer_state.h"
#include "train/tensor_dataset.h"
#include "train/train_options.h"

namespace tributary {

struct LocalTrainResult {
  int64_t num_examples = 0;        // size of the client's local dataset
  int64_t steps = 0;               // optimizer steps taken
  int64_t examples_processed = 0;  // examples in all the batches trained on
  double mean_loss = 0.0;          // mean training loss over every example seen
};

// For token windows, count, correct and loss are per predicted token.
struct EvalResult {
  int64_t count = 0;
  int64_t correct = 0;
  double loss_sum = 0.0;

  double accuracy() const { return count == 0 ? 0.0 : static_cast<double>(correct) / count; }
  double mean_loss() const { return count == 0 ? 0.0 : loss_sum / count; }
  void Merge(const EvalResult& other) {
    count += other.count;
    correct += other.correct;
    loss_sum += other.loss_sum;
  }
};

class LocalTrainer {
 public:
  static absl::StatusOr<std::unique_ptr<LocalTrainer>> Create(const ModelSpec& spec,
                                                              const TrainOptions& options);
  ~LocalTrainer();

  // The parameter layout of this trainer's model.
  const std::vector<TensorSpec>& layout() const;

  // Trains from `global` on examples `indices` of `data`, shuffled by `shuffle_seed`, and
  // writes (trained - global) into *delta. `gradient_correction`, when given, is added to every
  // step's gradient (SCAFFOLD's c - c_i). `optimizer_state`, when given, is where the client's
  // optimizer starts from and is left as trained. Requires: every state has layout().
  absl::StatusOr<LocalTrainResult> Train(const ModelState& global, const TensorDataset& data,
                                         std::span<const uint32_t> indices, uint64_t shuffle_seed,
                                         ModelState* delta,
                                         const ModelState* gradient_correction = nullptr,
                                         OptimizerState* optimizer_state = nullptr);

  // model.seed_pool models: the two-sided difference (L(W + eps z_j) - L(W - eps z_j)) /
  // (2 eps) at the weights of coefficients `model`, on the batch of examples `indices`, along
  // the pool's direction `seed_index`: the scalar a zo_sgd step computes and sends.
  absl::StatusOr<double> DirectionalDerivative(const ModelState& model, const TensorDataset& data,
                                               std::span<const uint32_t> indices,
                                               uint32_t seed_index);

  // Loss and accuracy of `model` on examples [begin, end) of `data`.
  absl::StatusOr<EvalResult> Evaluate(const ModelState& model, const TensorDataset& data,
                                      size_t begin, size_t end);
  // The same on the examples `indices` of `data`.
  absl::StatusOr<EvalResult> EvaluateExamples(const ModelState& model, const TensorDataset& data,
                                              std::span<const uint32_t> indices);

 private:
  struct Impl;
  explicit LocalTrainer(std::unique_ptr<Impl> impl);
  absl::StatusOr<LocalTrainResult> TrainZerothOrder(const ModelState& global,
                                                    const TensorDataset& data,
                                                    std::span<const uint32_t> indices,
                                                    uint64_t shuffle_seed, ModelState* delta);
  std::unique_ptr<Impl> impl_;
};

// Runs the model on the first examples of `data` and checks that it accepts them and that its
// output can be scored (class scores for cross-entropy, or the module's own scalar loss): a
// model that does not fit its data is refused before round 1 with a message naming the shapes.
absl::Status CheckModelFitsData(const ModelSpec& spec, const TensorDataset& data);

}  // namespace tributary

#endif  // TRIBUTARY_TRAIN_LOCAL_TRAINER_H_
