#include "compress/kmeans_codec.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "compress/bit_packing.h"

namespace tributary {
namespace {

constexpr size_t kMaxSample = 16384;
constexpr int kLloydIterations = 25;

// Index of the centre nearest to v, given sorted centres and the midpoints between them.
uint32_t Nearest(float v, const std::vector<float>& midpoints) {
  return static_cast<uint32_t>(std::upper_bound(midpoints.begin(), midpoints.end(), v) -
                               midpoints.begin());
}

std::vector<float> Midpoints(const std::vector<float>& centres) {
  std::vector<float> m;
  for (size_t c = 1; c < centres.size(); ++c) m.push_back(0.5f * (centres[c - 1] + centres[c]));
  return m;
}

}  // namespace

std::vector<float> KMeans1D(std::span<const float> values, int count) {
  if (values.empty()) return std::vector<float>(count, 0.0f);
  const size_t stride = std::max<size_t>(1, values.size() / kMaxSample);
  std::vector<float> sample;
  for (size_t i = 0; i < values.size(); i += stride) sample.push_back(values[i]);
  // The extremes always take part: outliers are the values a sample misses and a poor centre
  // hurts most.
  const auto [lowest, highest] = std::minmax_element(values.begin(), values.end());
  sample.push_back(*lowest);
  sample.push_back(*highest);
  std::sort(sample.begin(), sample.end());
  std::vector<float> centres(count);
  for (int c = 0; c < count; ++c) {
    centres[c] = sample[std::min(sample.size() - 1, (2 * c + 1) * sample.size() / (2 * count))];
  }
  for (int iteration = 0; iteration < kLloydIterations; ++iteration) {
    const std::vector<float> midpoints = Midpoints(centres);
    std::vector<double> sum(count, 0.0);
    std::vector<size_t> members(count, 0);
    for (float v : sample) {
      const uint32_t c = Nearest(v, midpoints);
      sum[c] += v;
      members[c]++;
    }
    for (int c = 0; c < count; ++c) {
      if (members[c] > 0) centres[c] = static_cast<float>(sum[c] / members[c]);
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
  const std::vector<float> centres = KMeans1D(values, centroids_);
  for (float c : centres) out.Put<float>(c);
  const std::vector<float> midpoints = Midpoints(centres);
  BitWriter writer(out.Extend(PackedBytes(values.size(), bits_)));
  for (float v : values) writer.Put(Nearest(v, midpoints), bits_);
  writer.Flush();
}

absl::Status KMeansCodec::Decode(ByteReader& in, const CodecContext& context,
                                 std::span<float> out) const {
  std::vector<float> centres(centroids_);
  for (float& c : centres) {
    TRIB_ASSIGN_OR_RETURN(c, in.Get<float>());
    if (!std::isfinite(c)) return absl::DataLossError("kmeans: non-finite centroid");
  }
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> bits, in.GetBytes(PackedBytes(out.size(), bits_)));
  BitReader reader(bits);
  for (float& v : out) {
    const uint32_t index = reader.Get(bits_);
    if (index >= static_cast<uint32_t>(centroids_)) {
      return absl::DataLossError(absl::StrCat("kmeans: centroid index ", index, " out of range"));
    }
    v = centres[index];
  }
  return absl::OkStatus();
}

}  // namespace tributary
