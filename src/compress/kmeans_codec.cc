#include "compress/kmeans_codec.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/cpu_dispatch.h"
#include "common/status_util.h"
#include "compress/bit_packing.h"
#include "compress/value_range.h"

namespace tributary {
namespace {

constexpr size_t kMaxSample = 4096;
constexpr int kLloydIterations = 25;

std::vector<float> Midpoints(const std::vector<float>& centres) {
  std::vector<float> m;
  for (size_t c = 1; c < centres.size(); ++c) m.push_back(0.5f * (centres[c - 1] + centres[c]));
  return m;
}

// codes[i] = the number of the 15 midpoints m <= values[i]; AVX2 compares 8 values at a time.
TRIB_CLONE_AVX2 void CountMidpointsBelow(const float* values, size_t count, const float* m,
                                         uint8_t* codes) {
  for (size_t i = 0; i < count; ++i) {
    const float v = values[i];
    int32_t c = 0;
    for (int j = 0; j < 15; ++j) c += m[j] <= v ? 1 : 0;
    codes[i] = static_cast<uint8_t>(c);
  }
}

// Nearest centre by a branch-free binary search over the midpoints between sorted centres,
// padded with +infinity to 2^bits - 1 entries: the index is the number of midpoints <= v.
class NearestCentre {
 public:
  NearestCentre(const std::vector<float>& centres, int bits)
      : bits_(bits), midpoints_(Midpoints(centres)) {
    midpoints_.resize((size_t{1} << bits) - 1, std::numeric_limits<float>::infinity());
  }
  uint32_t operator()(float v) const {
    uint32_t index = 0;
    for (uint32_t step = 1u << (bits_ - 1); step > 0; step >>= 1) {
      index += midpoints_[index + step - 1] <= v ? step : 0;
    }
    return index;
  }
  // The same for a block of values. Up to 16 centres, counting the midpoints below each value
  // one midpoint at a time vectorizes, and beats the search's dependent loads.
  void Block(const float* values, size_t count, uint8_t* codes) const {
    if (bits_ > 4) {
      for (size_t i = 0; i < count; ++i) codes[i] = static_cast<uint8_t>((*this)(values[i]));
      return;
    }
    // A fixed 15 midpoints (padded with +infinity): the compiler unrolls them and vectorizes
    // across values, keeping each value's count in a register.
    float m[15];
    std::fill(m, m + 15, std::numeric_limits<float>::infinity());
    std::copy(midpoints_.begin(), midpoints_.end(), m);
    CountMidpointsBelow(values, count, m, codes);
  }

 private:
  int bits_;
  std::vector<float> midpoints_;
};

}  // namespace

std::vector<float> KMeans1D(std::span<const float> values, int count) {
  return KMeans1D(values, count, ScanValues(values));
}

std::vector<float> KMeans1D(std::span<const float> values, int count, const ValueRange& range) {
  if (values.empty()) return std::vector<float>(count, 0.0f);
  const size_t stride = std::max<size_t>(1, values.size() / kMaxSample);
  std::vector<float> sample;
  for (size_t i = 0; i < values.size(); i += stride) sample.push_back(values[i]);
  // In a sample the extremes always take part: outliers are the values a sample misses and a
  // poor centre hurts most. Without sampling every value is there once (Lloyd on the data).
  if (stride > 1) {
    sample.push_back(range.min);
    sample.push_back(range.max);
  }
  std::sort(sample.begin(), sample.end());
  // With the sample sorted every cluster is a contiguous run, so a Lloyd step needs only a
  // binary search per midpoint and prefix sums, not a pass over the sample.
  std::vector<double> prefix(sample.size() + 1, 0.0);
  for (size_t i = 0; i < sample.size(); ++i) prefix[i + 1] = prefix[i] + sample[i];
  std::vector<float> centres(count);
  for (int c = 0; c < count; ++c) {
    centres[c] = sample[std::min(sample.size() - 1, (2 * c + 1) * sample.size() / (2 * count))];
  }
  std::vector<size_t> starts(count + 1);
  for (int iteration = 0; iteration < kLloydIterations; ++iteration) {
    const std::vector<float> midpoints = Midpoints(centres);
    starts[0] = 0;
    starts[count] = sample.size();
    for (int c = 1; c < count; ++c) {
      // Values equal to a midpoint go to the upper centre, as in NearestCentre.
      starts[c] = std::lower_bound(sample.begin(), sample.end(), midpoints[c - 1]) - sample.begin();
    }
    for (int c = 0; c < count; ++c) {
      const size_t members = starts[c + 1] - starts[c];
      if (members > 0) {
        centres[c] = static_cast<float>((prefix[starts[c + 1]] - prefix[starts[c]]) / members);
      }
    }
    std::sort(centres.begin(), centres.end());
  }
  return centres;
}

KMeansCodec::KMeansCodec(int centroids)
    : centroids_(centroids), bits_(std::bit_width(static_cast<unsigned>(centroids - 1))) {}

std::string KMeansCodec::spec() const { return absl::StrCat("kmeans:centroids=", centroids_); }

void KMeansCodec::Encode(std::span<const float> values, const CodecContext& context,
                         ByteWriter& out) const {
  const size_t n = values.size();
  const ValueRange range = ScanValues(values);
  if (!range.finite) {
    // Sent as NaN centres, which the decoder rejects: a NaN or infinity is never hidden.
    for (int c = 0; c < centroids_; ++c) out.Put<float>(std::numeric_limits<float>::quiet_NaN());
    std::memset(out.Extend(PackedBytes(n, bits_)), 0, PackedBytes(n, bits_));
    return;
  }
  const std::vector<float> centres = KMeans1D(values, centroids_, range);
  for (float c : centres) out.Put<float>(c);
  const NearestCentre nearest(centres, bits_);
  uint8_t* packed = out.Extend(PackedBytes(n, bits_));
  uint8_t codes[kCodeBlock];
  for (size_t start = 0; start < n; start += kCodeBlock) {
    const size_t count = std::min(kCodeBlock, n - start);
    nearest.Block(values.data() + start, count, codes);
    PackCodes(codes, count, bits_, packed + start * bits_ / 8);
  }
}

absl::Status KMeansCodec::Decode(ByteReader& in, const CodecContext& context,
                                 std::span<float> out) const {
  std::vector<float> centres(centroids_);
  for (float& c : centres) {
    TRIB_ASSIGN_OR_RETURN(c, in.Get<float>());
    if (!std::isfinite(c)) return absl::DataLossError("kmeans: non-finite centroid");
  }
  const size_t n = out.size();
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> bits, in.GetBytes(PackedBytes(n, bits_)));
  uint8_t codes[kCodeBlock];
  for (size_t start = 0; start < n; start += kCodeBlock) {
    const size_t count = std::min(kCodeBlock, n - start);
    UnpackCodes(bits.data() + start * bits_ / 8, count, bits_, codes);
    uint8_t largest = 0;
    for (size_t i = 0; i < count; ++i) largest = std::max(largest, codes[i]);
    if (largest >= centroids_) {
      return absl::DataLossError(
          absl::StrCat("kmeans: centroid index ", int{largest}, " out of range"));
    }
    for (size_t i = 0; i < count; ++i) out[start + i] = centres[codes[i]];
  }
  return absl::OkStatus();
}

}  // namespace tributary
