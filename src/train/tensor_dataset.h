// A labelled image dataset held as torch tensors (normalized fp32 images, int64 labels), shared
// read-only by every worker. Torch-free header; train/ code reaches the tensors through
// tensor_dataset_tensors.h.
//
// Thread-safety: immutable after construction; safe to share across threads.
#ifndef TRIBUTARY_TRAIN_TENSOR_DATASET_H_
#define TRIBUTARY_TRAIN_TENSOR_DATASET_H_

#include <cstddef>
#include <memory>

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
