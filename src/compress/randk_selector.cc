#include "compress/randk_selector.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "common/fast_rng.h"

namespace tributary {

std::string RandKSelector::spec() const { return absl::StrCat("randk:ratio=", ratio_); }

void RandKSelector::Select(std::span<const float> x, uint64_t seed, double,
                           std::vector<uint32_t>* indices) const {
  *indices = Regenerate(x.size(), seed);
}

std::vector<uint32_t> RandKSelector::Regenerate(size_t dimension, uint64_t seed) const {
  const size_t k =
      std::clamp<size_t>(static_cast<size_t>(std::llround(ratio_ * dimension)), 1, dimension);
  // Floyd's algorithm: k distinct values from [0, d) in O(k) draws.
  FastRng rng(seed);
  std::unordered_set<uint32_t> chosen;
  chosen.reserve(2 * k);
  std::vector<uint32_t> indices;
  indices.reserve(k);
  for (size_t j = dimension - k; j < dimension; ++j) {
    // Uniform in [0, j] by 128-bit multiply (bias below 2^-32 for d < 2^32).
    const uint32_t t =
        static_cast<uint32_t>((static_cast<unsigned __int128>(rng.Next()) * (j + 1)) >> 64);
    const uint32_t pick = chosen.insert(t).second ? t : static_cast<uint32_t>(j);
    if (pick == j) chosen.insert(pick);
    indices.push_back(pick);
  }
  std::sort(indices.begin(), indices.end());
  return indices;
}

double RandKSelector::value_scale(size_t dimension, size_t selected) const {
  return static_cast<double>(dimension) / static_cast<double>(selected);
}

}  // namespace tributary
