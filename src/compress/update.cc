#include "compress/update.h"

namespace tributary {

void Update::AddTo(std::span<float> out) const {
  if (!sparse) {
    for (size_t i = 0; i < out.size(); ++i) out[i] += values[i];
    return;
  }
  for (size_t j = 0; j < indices.size(); ++j) out[indices[j]] += values[j];
}

std::vector<float> Update::ToDense() const {
  std::vector<float> dense(dimension, 0.0f);
  AddTo(dense);
  return dense;
}

}  // namespace tributary
