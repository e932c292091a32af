// A dataset held as torch tensors, shared read-only by every worker: labelled images (normalized
// fp32 images, int64 labels) or token windows for next-token prediction. Torch-free header; train/
// code reaches the tensors through tensor_dataset_tensors.h.
//
// Thread-safety: immutable after construction; safe to share across threads.
#ifndef TRIBUTARY_TRAIN_TENSOR_DATASET_H_
#define TRIBUTARY_TRAIN_TENSOR_DATASET_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "data/fashion_mnist.h"

namespace tributary {

class TensorDataset {
 public:
  struct Tensors;

  // Pixel statistics after scaling to [0, 1]; computed on the training split and applied to
  // every split, so evaluation sees the same transform as training.
  struct Normalization {
    float mean = 0.0f;
    float stddev = 1.0f;
  };
  static Normalization ComputeNormalization(const LabeledImages& images);

  // Images scaled to [0, 1], then standardized: (x - mean) / stddev.
  static absl::StatusOr<std::shared_ptr<const TensorDataset>> FromImages(
      const LabeledImages& images, Normalization normalization);
  // Features [N, example_shape...] as given (taken over, not copied) and int64 labels [N].
  static absl::StatusOr<std::shared_ptr<const TensorDataset>> FromArrays(
      std::vector<float> features, std::span<const int64_t> example_shape,
      std::span<const int64_t> labels);
  // Windows of context + 1 tokens laid end to end in `tokens`: each example's input is a
  // window's first `context` tokens and its targets are the last `context`.
  static absl::StatusOr<std::shared_ptr<const TensorDataset>> FromTokenWindows(
      std::span<const int32_t> tokens, int64_t context);
  ~TensorDataset();

  size_t size() const { return size_; }
  const Tensors& tensors() const { return *tensors_; }

 private:
  TensorDataset(std::unique_ptr<Tensors> tensors, size_t size);

  std::unique_ptr<Tensors> tensors_;
  size_t size_;
};

}  // namespace tributary

#endif  // TRIBUTARY_TRAIN_TENSOR_DATASET_H_
