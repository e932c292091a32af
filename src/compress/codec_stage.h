// The stages a codec pipeline is made of, in the order they run when encoding:
//
//   Selector    (optional)   picks the coordinates to send: topk, randk, threshold
//   ValueCodec  (one)        encodes the selected values: fp32 (default), fp16, bf16, qsgd,
//                            terngrad, sign, kmeans, powersgd (whole matrices, no selector),
//                            sketch (whole vector, no selector)
//   ByteCodec   (optional)   a lossless transform of the whole body: zstd, arith
//
// Stages are stateless and thread-safe; randomness comes from the seed passed in, so encoding is
// reproducible. Decoding validates everything it reads and never trusts counts from the wire.
#ifndef TRIBUTARY_COMPRESS_CODEC_STAGE_H_
#define TRIBUTARY_COMPRESS_CODEC_STAGE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compress/byte_stream.h"
#include "tensor/model_state.h"

namespace tributary {

// A client's codec memory, kept across the rounds it takes part in.
struct CodecState {
  std::vector<float> residual;    // error feedback: one value per coordinate, once used
  std::vector<float> low_rank_q;  // PowerSGD: every matrix's Q, warm-started next round
};

// What a stage may use besides the values: the encoding seed, the model's tensor layout (for
// stages that work per matrix; empty means one flat vector), and, when encoding on a client,
// that client's state (null when stateless).
struct CodecContext {
  uint64_t seed = 0;
  std::span<const TensorSpec> layout;
  CodecState* state = nullptr;
  double ratio_scale = 1.0;  // see Selector::Select
  // Set by error feedback: a stochastic unbiased stage whose relative variance on this input is
  // w (E|C(x) - x|^2 = w |x|^2) sends C(x) / (1 + w) instead. That compressor is contractive,
  // E|C(x) / (1 + w) - x|^2 = w / (1 + w) |x|^2, so the residual stays bounded; unscaled, a
  // codec with w >= 1 makes it grow without limit. Per stage the factors multiply, and so do
  // the contractions. Random-k's w is d/k - 1: it sends its values unscaled.
  bool contract = false;
};

class Selector {
 public:
  virtual ~Selector() = default;
  // Canonical text, e.g. "topk:ratio=0.01"; part of the wire header.
  virtual std::string spec() const = 0;
  // Strictly increasing coordinates of `x` to send. `ratio_scale` multiplies the selected count
  // of selectors that send their indices and are sized by a ratio (topk); it lets a client send
  // more or less than the configured ratio (bandwidth-aware compression) without changing the
  // wire format.
  virtual void Select(std::span<const float> x, uint64_t seed, double ratio_scale,
                      std::vector<uint32_t>* indices) const = 0;
  // True when the decoder regenerates the indices from (dimension, seed): none are sent.
  virtual bool indices_from_seed() const { return false; }
  // Requires indices_from_seed().
  virtual std::vector<uint32_t> Regenerate(size_t dimension, uint64_t seed) const { return {}; }
  // Multiplies the selected values so that the sparse update is unbiased (randk: d / k).
  virtual double value_scale(size_t dimension, size_t selected) const { return 1.0; }
  virtual bool unbiased() const { return false; }
};

// How a value stage lays out the bytes of n values, for a byte stage that models the body's
// fields (arith): `prefix_bytes` raw bytes first (QSGD's bucket norms), then for every value
// either a `symbol_bits`-bit code, packed LSB-first (QSGD), or a varint (grid), or
// `value_bytes` raw bytes (fp32, fp16, bf16).
struct ValueLayout {
  size_t prefix_bytes = 0;
  int symbol_bits = 0;
  bool varints = false;
  int value_bytes = 0;
};

class ValueCodec {
 public:
  virtual ~ValueCodec() = default;
  virtual std::string spec() const = 0;
  virtual bool lossless() const { return false; }
  virtual bool unbiased() const { return false; }
  // True for stages that work on the model's matrices: they need the layout and no selector.
  virtual bool needs_layout() const { return false; }
  // True for stages that must see the whole vector: no selector before them, no pertensor.
  virtual bool whole_vector_only() const { return needs_layout(); }
  virtual void Encode(std::span<const float> values, const CodecContext& context,
                      ByteWriter& out) const = 0;
  // Fills `out` (its size is the number of values encoded). Fails on malformed input.
  virtual absl::Status Decode(ByteReader& in, const CodecContext& context,
                              std::span<float> out) const = 0;
  // The layout of n values' bytes; none for stages whose bytes have no such fixed shape.
  virtual std::optional<ValueLayout> LayoutOf(size_t n) const { return std::nullopt; }
};

// A pipeline's body (pipeline.h's wire format), for a byte stage that models its fields: with
// a selector, a varint count k first, then (when `indices`) k varint gaps; then the values, k
// of them, or one per coordinate without a selector. With `per_tensor`, one such section per
// tensor.
struct BodyShape {
  bool per_tensor = false;
  bool count = false;
  bool indices = false;
  const ValueCodec* values = nullptr;  // outlives the byte stage (the same pipeline owns both)
};

class ByteCodec {
 public:
  virtual ~ByteCodec() = default;
  virtual std::string spec() const = 0;
  // Called once by the pipeline, before any Encode or Decode: fails when this stage cannot
  // code such bodies.
  virtual absl::Status Bind(const BodyShape& shape) { return absl::OkStatus(); }
  // `dimension`: the number of coordinates the payload stands for.
  virtual std::vector<uint8_t> Encode(std::span<const uint8_t> body, size_t dimension) const = 0;
  // Fails on malformed input or when the result would exceed `max_size` bytes.
  virtual absl::StatusOr<std::vector<uint8_t>> Decode(std::span<const uint8_t> body,
                                                      size_t dimension, size_t max_size) const = 0;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_CODEC_STAGE_H_
