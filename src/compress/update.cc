#include "compress/update.h"

namespace tributary {

Update Update::Dense(std::vector<float> values) {
  Update u;
  u.dimension = values.size();
  u.values = std::move(values);
  return u;
}

Update Update::Sparse(size_t dimension, std::vector<uint32_t> indices, std::vector<float> values) {
  Update u;
  u.dimension = dimension;
  u.indices = std::move(indices);
  u.values = std::move(values);
  u.sparse = true;
  return u;
}

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
