#include "compress/topk_selector.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace tributary {
namespace {

// Magnitude as an order-preserving key. NaN sorts above infinity, so a NaN is always selected
// and the server rejects the update, instead of the NaN being silently dropped here.
uint32_t MagnitudeKey(float v) { return std::bit_cast<uint32_t>(v) & 0x7fffffffu; }

}  // namespace

void TopKIndices(std::span<const float> x, size_t k, std::vector<uint32_t>* indices) {
  indices->clear();
  const size_t n = x.size();
  k = std::min(k, n);
  if (k == 0) return;
  if (k == n) {
    indices->resize(n);
    for (size_t i = 0; i < n; ++i) (*indices)[i] = static_cast<uint32_t>(i);
    return;
  }
  // Pass 1: histogram of the top 16 bits of the key (bit 31 is always zero: 32768 buckets).
  std::vector<uint32_t> histogram(1 << 15, 0);
  for (size_t i = 0; i < n; ++i) histogram[MagnitudeKey(x[i]) >> 16]++;
  // The bucket holding the k-th largest key, and how many keys lie strictly above it.
  size_t above = 0;
  int bucket = (1 << 15) - 1;
  for (; bucket >= 0; --bucket) {
    if (above + histogram[bucket] >= k) break;
    above += histogram[bucket];
  }
  const size_t needed_from_bucket = k - above;
  // Pass 2: keys above the bucket are in; the bucket's members are ranked by full key, ties
  // toward lower index, and the first `needed_from_bucket` are in.
  std::vector<std::pair<uint32_t, uint32_t>> candidates;  // (key, index)
  candidates.reserve(histogram[bucket]);
  indices->reserve(k);
  const uint32_t low = static_cast<uint32_t>(bucket) << 16;
  const uint32_t high = low + 0xffffu;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t key = MagnitudeKey(x[i]);
    if (key > high) {
      indices->push_back(static_cast<uint32_t>(i));
    } else if (key >= low) {
      candidates.emplace_back(key, static_cast<uint32_t>(i));
    }
  }
  auto larger_first = [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  std::nth_element(candidates.begin(), candidates.begin() + (needed_from_bucket - 1),
                   candidates.end(), larger_first);
  for (size_t j = 0; j < needed_from_bucket; ++j) indices->push_back(candidates[j].second);
  std::sort(indices->begin(), indices->end());
}

std::string TopKSelector::spec() const {
  return k_ > 0 ? absl::StrCat("topk:k=", k_) : absl::StrCat("topk:ratio=", ratio_);
}

size_t TopKSelector::CountFor(size_t dimension, double ratio_scale) const {
  const double wanted = (k_ > 0 ? static_cast<double>(k_) : ratio_ * dimension) * ratio_scale;
  return std::clamp<size_t>(static_cast<size_t>(std::llround(wanted)), 1, dimension);
}

void TopKSelector::Select(std::span<const float> x, uint64_t, double ratio_scale,
                          std::vector<uint32_t>* indices) const {
  TopKIndices(x, CountFor(x.size(), ratio_scale), indices);
}

}  // namespace tributary
