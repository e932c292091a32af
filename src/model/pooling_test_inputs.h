// Test helpers shared by the pooling tests: bitwise comparison and inputs full of ties and
// special values, where a pooling kernel's choice of window element shows.
#ifndef TRIBUTARY_MODEL_POOLING_TEST_INPUTS_H_
#define TRIBUTARY_MODEL_POOLING_TEST_INPUTS_H_

#include <torch/torch.h>

#include <cstring>
#include <limits>
#include <vector>

namespace tributary {

// Bit for bit, so NaNs and the sign of zero count.
inline bool SameBits(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) return false;
  const torch::Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.numel() * ca.element_size()) == 0;
}

// Small integers, so windows often hold ties; some NaNs, infinities and signed zeros.
inline torch::Tensor TieRichInput(std::vector<int64_t> sizes, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor x = torch::randint(-3, 4, sizes, torch::kFloat);
  float* p = x.data_ptr<float>();
  for (int64_t i = 0; i < x.numel(); i += 7) p[i] = -0.0f;
  for (int64_t i = 3; i < x.numel(); i += 29) p[i] = std::numeric_limits<float>::quiet_NaN();
  for (int64_t i = 5; i < x.numel(); i += 31) p[i] = -std::numeric_limits<float>::infinity();
  for (int64_t i = 11; i < x.numel(); i += 37) p[i] = std::numeric_limits<float>::infinity();
  return x;
}

}  // namespace tributary

#endif  // TRIBUTARY_MODEL_POOLING_TEST_INPUTS_H_
