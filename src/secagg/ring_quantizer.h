// Maps an update into the ring secure aggregation sums in, and the sum back: each value is
// clipped to [-clip, clip] and rounded stochastically (unbiased) to one of 2^bits levels, so the
// sum of n inputs fits the 2^32 ring when bits + log2 n <= 32 (ValidateSecAggParams).
#ifndef TRIBUTARY_SECAGG_RING_QUANTIZER_H_
#define TRIBUTARY_SECAGG_RING_QUANTIZER_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "secagg/secagg_crypto.h"

namespace tributary {

class RingQuantizer {
 public:
  // Fails unless clip > 0 (finite) and bits in [1, 31].
  static absl::StatusOr<RingQuantizer> Create(double clip, int bits);

  // The levels of `values`; the rounding draws from the ChaCha20 stream of `rounding_key`.
  std::vector<uint32_t> Quantize(std::span<const float> values,
                                 const SymmetricKey& rounding_key) const;
  // The float sum of `count` inputs whose levels sum to `sum`.
  std::vector<float> DequantizeSum(std::span<const uint32_t> sum, int count) const;

 private:
  RingQuantizer(double clip, int bits) : clip_(clip), levels_((uint64_t{1} << bits) - 1) {}
  double clip_;
  uint64_t levels_;  // the top level: values map to [0, levels_]
};

}  // namespace tributary

#endif  // TRIBUTARY_SECAGG_RING_QUANTIZER_H_
