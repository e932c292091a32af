// k-means value clustering (the quantization step of FedZip, Malekijoo et al. 2021): the values
// are replaced by the nearest of `centroids` 1-D cluster centres found by Lloyd's algorithm, and
// sent as the centres (fp32) plus a ceil(log2(centroids))-bit index per value. Biased; pair it
// with a sparsifier, zstd and error feedback as FedZip does.
#ifndef TRIBUTARY_COMPRESS_KMEANS_CODEC_H_
#define TRIBUTARY_COMPRESS_KMEANS_CODEC_H_

#include "compress/codec_stage.h"
#include "compress/value_range.h"

namespace tributary {

class KMeansCodec : public ValueCodec {
 public:
  explicit KMeansCodec(int centroids);
  std::string spec() const override;
  void Encode(std::span<const float> values, const CodecContext& context,
              ByteWriter& out) const override;
  absl::Status Decode(ByteReader& in, const CodecContext& context,
                      std::span<float> out) const override;

 private:
  int centroids_;  // 2..256
  int bits_;
};

// Sorted 1-D cluster centres of `values` (at most `count`), from Lloyd iterations on an evenly
// strided sample (plus the minimum and maximum) started at the sample's quantiles. Exposed for
// tests.
std::vector<float> KMeans1D(std::span<const float> values, int count);
// The same, given the values' range (ScanValues) when the caller has it already.
std::vector<float> KMeans1D(std::span<const float> values, int count, const ValueRange& range);

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_KMEANS_CODEC_H_
