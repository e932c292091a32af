// A dataset held as torch tensors, shared read-only by every worker: labelled images (kept as
// their uint8 pixels, normalized to fp32 batch by batch), labelled feature arrays, or token
// windows for next-token prediction. Torch-free header; train/ code reaches the tensors through
// tensor_dataset_tensors.h.
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
#include "data/image_row_file.h"

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
  // The same statistics gathered image by image, for a split streamed rather than held: adding
  // every pixel in the same order gives exactly ComputeNormalization's figures.
  class PixelStatistics {
   public:
    void Add(std::span<const uint8_t> pixels);
    Normalization Result() const;

   private:
    double sum_ = 0.0, sum_squares_ = 0.0;
    size_t count_ = 0;
  };

  // Images scaled to [0, 1], then standardized: (x - mean) / stddev. The pixels are stored as
  // they are (a byte each, a quarter of fp32) and converted per batch, with the same arithmetic
  // as converting the whole split at once. Takes the pixels over (pass a copy to keep them).
  static absl::StatusOr<std::shared_ptr<const TensorDataset>> FromImages(
      LabeledImages images, Normalization normalization);
  // The same, but the pixels stay in `file` (read batch by batch, `rows` x `cols` each) and only
  // the labels, one per image of `file`, are held.
  static absl::StatusOr<std::shared_ptr<const TensorDataset>> FromImageFile(
      std::shared_ptr<const ImageRowFile> file, int64_t rows, int64_t cols,
      std::span<const uint8_t> labels, Normalization normalization);
  // Features [N, example_shape...] as given (taken over, not copied) and int64 labels [N].
  static absl::StatusOr<std::shared_ptr<const TensorDataset>> FromArrays(
      std::vector<float> features, std::span<const int64_t> example_shape,
      std::span<const int64_t> labels);
  // Windows of context + 1 tokens laid end to end in `tokens`: each example's input is a
  // window's first `context` tokens and its targets are the last `context`.
  static absl::StatusOr<std::shared_ptr<const TensorDataset>> FromTokenWindows(
      std::span<const int32_t> tokens, int64_t context);
  ~TensorDataset();

  // The examples at `indices`, in that order (a copy: the subset owns its storage).
  absl::StatusOr<std::shared_ptr<const TensorDataset>> Subset(
      std::span<const uint32_t> indices) const;

  size_t size() const { return size_; }
  const Tensors& tensors() const { return *tensors_; }

 private:
  TensorDataset(std::unique_ptr<Tensors> tensors, size_t size);

  std::unique_ptr<Tensors> tensors_;
  size_t size_;
};

}  // namespace tributary

#endif  // TRIBUTARY_TRAIN_TENSOR_DATASET_H_
