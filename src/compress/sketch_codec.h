// Count sketch (Charikar et al. 2002) as used by FetchSGD (Rothchild et al. 2020): a client sends
// a rows x cols table instead of its d values. Row r adds sign_r(i) * x[i] into bucket h_r(i);
// the hashes depend only on (i, r), so every client's table is the same linear function of its
// update and the server can sum tables before it looks inside them.
//
// Unsketching estimates x[i] as the median over rows of sign_r(i) * table[r][h_r(i)] and keeps
// the k largest estimates (k = ratio * d, or k given). Decode() of one payload does exactly that;
// the server path sums many tables (Pipeline::DecodeSketchTable) and unsketches the sum once,
// with its error feedback kept in sketch space (aggregate/sketched_fedavg.h).
//
// Body: rows * cols fp32 values, row after row. No selector and no pertensor: the sketch is of
// the whole flat vector.
#ifndef TRIBUTARY_COMPRESS_SKETCH_CODEC_H_
#define TRIBUTARY_COMPRESS_SKETCH_CODEC_H_

#include "compress/codec_stage.h"

namespace tributary {

class SketchCodec : public ValueCodec {
 public:
  // rows >= 1, cols >= 1; exactly one of ratio (in (0, 1]) and k (>= 1) is positive.
  SketchCodec(int rows, int64_t cols, double ratio, int64_t k)
      : rows_(rows), cols_(cols), ratio_(ratio), k_(k) {}
  std::string spec() const override;
  bool whole_vector_only() const override { return true; }
  void Encode(std::span<const float> values, const CodecContext& context,
              ByteWriter& out) const override;
  // Writes the unsketched top-k into `out` (zeros elsewhere).
  absl::Status Decode(ByteReader& in, const CodecContext& context,
                      std::span<float> out) const override;

  size_t table_size() const { return static_cast<size_t>(rows_) * cols_; }
  // table += sketch of x (table_size() values).
  void AddToTable(std::span<const float> x, std::span<float> table) const;
  // Sets to zero, in every row, the bucket each of `indices` hashes to.
  void ZeroBuckets(std::span<const uint32_t> indices, std::span<float> table) const;
  // Reads one table off the wire; fails on short input or a non-finite entry.
  absl::Status ReadTable(ByteReader& in, std::span<float> table) const;
  // The k coordinates (increasing) of a `dimension`-vector with the largest estimated
  // magnitudes in `table`, and their estimates.
  void Unsketch(std::span<const float> table, size_t dimension, std::vector<uint32_t>* indices,
                std::vector<float>* values) const;
  size_t CountFor(size_t dimension) const;

 private:
  int rows_;
  int64_t cols_;
  double ratio_;
  int64_t k_;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_SKETCH_CODEC_H_
