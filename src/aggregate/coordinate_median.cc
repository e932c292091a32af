#include "aggregate/coordinate_median.h"

#include <algorithm>

namespace tributary {

absl::Status CoordinateMedian::Combine(const std::vector<Buffered>& updates, std::span<float> out) {
  const size_t n = updates.size();
  std::vector<float> column(n);
  for (size_t i = 0; i < out.size(); ++i) {
    for (size_t c = 0; c < n; ++c) column[c] = updates[c].delta[i];
    const size_t middle = n / 2;
    std::nth_element(column.begin(), column.begin() + middle, column.end());
    float median = column[middle];
    if (n % 2 == 0) {
      const float below = *std::max_element(column.begin(), column.begin() + middle);
      median = static_cast<float>(0.5 * (static_cast<double>(median) + below));
    }
    out[i] = median;
  }
  return absl::OkStatus();
}

}  // namespace tributary
