// A narrower model as a slice of a wider one (HeteroFL, Diao et al. 2021): every tensor of the
// narrow model is the leading block of the same-named tensor of the wide model ([0, s0) x
// [0, s1) x ...). Extract() cuts a narrow model out; ScatterInto() writes a narrow update back
// into wide coordinates; covered() lists the wide coordinates the slice holds, which is what
// per-coordinate (mask-aware) averaging needs.
#ifndef TRIBUTARY_TENSOR_MODEL_SLICE_H_
#define TRIBUTARY_TENSOR_MODEL_SLICE_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "tensor/model_state.h"

namespace tributary {

class ModelSlice {
 public:
  // Fails unless both layouts name the same tensors in the same order, with equal ranks and
  // every narrow dimension at most the wide one.
  static absl::StatusOr<ModelSlice> Create(const std::vector<TensorSpec>& wide,
                                           const std::vector<TensorSpec>& narrow);

  const std::vector<TensorSpec>& narrow_layout() const { return narrow_; }
  size_t narrow_size() const { return map_.size(); }
  // Wide flat index of every narrow coordinate, increasing.
  const std::vector<uint32_t>& covered() const { return map_; }

  void Extract(std::span<const float> wide, std::span<float> narrow) const;
  // wide = 0 outside the slice, narrow inside.
  void ScatterInto(std::span<const float> narrow, std::span<float> wide) const;

 private:
  std::vector<TensorSpec> narrow_;
  std::vector<uint32_t> map_;
};

}  // namespace tributary

#endif  // TRIBUTARY_TENSOR_MODEL_SLICE_H_
