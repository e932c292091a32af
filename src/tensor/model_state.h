// ModelState: the parameters of a model as ordered named tensors stored in one contiguous fp32
// buffer. Every algorithm (deltas, aggregation, codecs) works on the flat view at memory speed;
// the per-tensor layout is kept for codecs that work per tensor and for saving.
//
// Thread-safety: const methods may be called concurrently; mutation needs exclusive access.
#ifndef TRIBUTARY_TENSOR_MODEL_STATE_H_
#define TRIBUTARY_TENSOR_MODEL_STATE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tributary {

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;

  int64_t NumElements() const;
  bool operator==(const TensorSpec&) const = default;
};

class ModelState {
 public:
  ModelState() = default;

  // A zero-filled state with the given layout. Fails on duplicate or empty names and on
  // negative dimensions.
  static absl::StatusOr<ModelState> Zeros(std::vector<TensorSpec> specs);

  const std::vector<TensorSpec>& specs() const { return specs_; }
  size_t num_tensors() const { return specs_.size(); }
  size_t num_elements() const { return values_.size(); }
  size_t num_bytes() const { return values_.size() * sizeof(float); }

  std::span<float> flat() { return values_; }
  std::span<const float> flat() const { return values_; }
  std::span<float> tensor(size_t index);
  std::span<const float> tensor(size_t index) const;
  // Index of the tensor called `name`, or NotFound.
  absl::StatusOr<size_t> IndexOf(const std::string& name) const;

  // True when both states have the same names and shapes in the same order.
  bool SameLayout(const ModelState& other) const { return specs_ == other.specs_; }
  // A zero-filled state with this state's layout.
  ModelState ZerosLike() const;

  // 64-bit XXH3 over the layout (names, shapes) and the values' bytes.
  uint64_t Checksum() const;

 private:
  std::vector<TensorSpec> specs_;
  std::vector<size_t> offsets_;  // offsets_[i] = start of tensor i in values_.
  std::vector<float> values_;
};

// delta = a - b, elementwise. Fails when the layouts differ.
absl::StatusOr<ModelState> Subtract(const ModelState& a, const ModelState& b);
// a += b, elementwise. Fails when the layouts differ.
absl::Status AddInPlace(ModelState& a, const ModelState& b);
// True when every value is finite.
bool AllFinite(std::span<const float> values);

// Saves as a PyTorch pickle archive holding an ordered {name: tensor} dict, so that
// `torch.load(path)` in Python returns the state dict. Written atomically.
absl::Status SaveModelState(const ModelState& state, const std::string& path);
// Loads a file written by SaveModelState (or by `torch.save` of a dict of float tensors).
absl::StatusOr<ModelState> LoadModelState(const std::string& path);

}  // namespace tributary

#endif  // TRIBUTARY_TENSOR_MODEL_STATE_H_
