// A decoded update: either dense (one value per coordinate) or sparse (strictly increasing
// indices, one value each; every other coordinate is zero).
#ifndef TRIBUTARY_COMPRESS_UPDATE_H_
#define TRIBUTARY_COMPRESS_UPDATE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tributary {

struct Update {
  size_t dimension = 0;
  std::vector<float> values;      // dense: `dimension` values; sparse: one per index
  std::vector<uint32_t> indices;  // empty for a dense update
  bool sparse = false;

  // out[i] += this[i] for every coordinate. Requires out.size() == dimension.
  void AddTo(std::span<float> out) const;
  std::vector<float> ToDense() const;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_UPDATE_H_
