// Partial personalization: the tensors whose names start with one of the configured prefixes
// (e.g. "fc2" for the classifier head) stay on each client. They are trained locally, kept in the
// client's state across rounds, and never sent or averaged; the rest of the model is federated as
// usual. This class maps between the full flat model and its shared part (what travels and what
// the codecs see, with its own tensor layout) and the local part (what a client keeps).
#ifndef TRIBUTARY_ENGINE_LOCAL_LAYERS_H_
#define TRIBUTARY_ENGINE_LOCAL_LAYERS_H_

#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tensor/model_state.h"

namespace tributary {

class LocalLayers {
 public:
  // `prefixes`: comma-separated tensor name prefixes; empty means nothing is local. Fails when a
  // prefix matches no tensor, or when every tensor would be local.
  static absl::StatusOr<LocalLayers> Create(const std::vector<TensorSpec>& layout,
                                            const std::string& prefixes);

  bool any() const { return local_size_ > 0; }
  const std::vector<TensorSpec>& shared_layout() const { return shared_layout_; }
  size_t shared_size() const { return shared_size_; }
  size_t local_size() const { return local_size_; }

  // The shared coordinates of `full`, in order.
  void GatherShared(std::span<const float> full, std::vector<float>* shared) const;
  // Writes `shared` into the shared coordinates of `full` and zeros into the local ones.
  void ScatterShared(std::span<const float> shared, std::span<float> full) const;
  // The local coordinates of `full`, and back.
  void GatherLocal(std::span<const float> full, std::vector<float>* local) const;
  void ScatterLocal(std::span<const float> local, std::span<float> full) const;

 private:
  struct Range {
    size_t offset, size;
    bool local;
  };
  std::vector<Range> ranges_;
  std::vector<TensorSpec> shared_layout_;
  size_t shared_size_ = 0, local_size_ = 0;
};

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_LOCAL_LAYERS_H_
