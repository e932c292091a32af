// Pipeline: a codec written as text, e.g. "topk:ratio=0.01|qsgd:bits=4|zstd", that turns an
// fp32 vector into payload bytes and back. A leading "pertensor" applies the selector and value
// stage to each tensor of the model's layout on its own (per-layer top-k, one norm per tensor)
// instead of to the whole flat model.
//
// Wire format (little-endian), version 2:
//   magic "TRBP" | u8 version | u32 pipeline id | varint dimension | [u64 seed] | body
//   | u64 XXH3-64 of all bytes before
// The pipeline id is the low 32 bits of XXH3-64 of the canonical pipeline text (version 1 sent
// the text itself: 50-odd bytes per payload, 7% of a top-k 0.4% upload); the seed is there only
// when the selector regenerates its indices from it (randk); the body runs to the checksum.
// Body, before the byte stage, for each section (the whole vector, or each tensor with
// pertensor): with a selector, varint k then (unless the indices come from the seed) k varint
// gaps between increasing indices, then the value stage's bytes for k values; without one, the
// value stage's bytes for all the section's values.
//
// Decode() checks everything: magic, version, that the pipeline id is this pipeline's, the
// dimension, lengths, checksum, index ranges and order, that the body is consumed exactly, and that
// every decoded value is finite. A payload that fails any check is an error, never a crash.
//
// Thread-safety: immutable; Encode and Decode may run concurrently.
#ifndef TRIBUTARY_COMPRESS_PIPELINE_H_
#define TRIBUTARY_COMPRESS_PIPELINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "compress/codec_stage.h"
#include "compress/sketch_codec.h"
#include "compress/update.h"

namespace tributary {

using Payload = std::vector<uint8_t>;

class Pipeline {
 public:
  static absl::StatusOr<std::unique_ptr<Pipeline>> Parse(std::string_view text);

  // Canonical text: every parameter spelled out, fp32 when no value stage was named.
  const std::string& spec() const { return spec_; }
  bool lossless() const;
  // True when E[Decode(Encode(x))] = x over the encoding seed.
  bool unbiased() const;

  // context.seed drives stochastic rounding and random selection; it travels in the header.
  Payload Encode(std::span<const float> x, const CodecContext& context) const;
  // The same into `out`, replacing its contents but keeping its capacity: a client that encodes
  // every round into one buffer skips allocating (and page-faulting) a model-sized payload.
  void EncodeInto(std::span<const float> x, const CodecContext& context, Payload* out) const;
  Payload Encode(std::span<const float> x, uint64_t seed) const {
    return Encode(x, CodecContext{.seed = seed});
  }
  // Encodes the sparse vector (dimension, indices, values) given by the caller instead of what
  // the selector would pick; the payload decodes like any other of this pipeline. Requires: a
  // selector that sends its indices, no pertensor, strictly increasing indices below dimension.
  Payload EncodeSparse(size_t dimension, std::span<const uint32_t> indices,
                       std::span<const float> values, uint64_t seed) const;
  // `layout` is the model's (needed by per-matrix stages such as powersgd).
  absl::StatusOr<Update> Decode(std::span<const uint8_t> payload, size_t dimension,
                                std::span<const TensorSpec> layout = {}) const;
  // Decode into `update`, reusing the memory of its vectors: a server that decodes many large
  // uploads then touches no fresh pages (each costs a kernel page fault). On an error `update`
  // holds something unspecified.
  absl::Status DecodeInto(std::span<const uint8_t> payload, size_t dimension,
                          std::span<const TensorSpec> layout, Update& update) const;
  // The value stage's grid exponent when it is `grid` (every decoded value a multiple of
  // 2^-exp), else none.
  std::optional<int> grid_exponent() const;
  // The byte stage's canonical text ("zstd:level=3", "arith"); empty without one.
  std::string byte_stage() const { return bytes_ ? bytes_->spec() : std::string(); }
  // True when every payload carries a value for every coordinate (no selector).
  bool dense() const { return selector_ == nullptr; }
  // Decodes a dense() pipeline's payload straight into `out` (dimension values): no buffer of
  // its own and no zero-fill, for a server that adds a large upload into its own memory. On an
  // error `out` holds something unspecified.
  absl::Status DecodeDenseInto(std::span<const uint8_t> payload, std::span<const TensorSpec> layout,
                               std::span<float> out) const;

  // True when every client encoding with the same context sends plain fp32 values at the same
  // coordinates (no selector, or one that draws its indices from the seed alone; a lossless
  // value stage; no byte stage): the payloads of many clients then add up coordinate by
  // coordinate, as under secure aggregation's masks.
  bool seed_determined_coordinates() const;
  // The coordinates such a pipeline sends for `dimension` and `context` (seed and layout), as a
  // sparse update whose values are the factors Encode() multiplies each coordinate by
  // (random-k's d / k; 1 when context.contract). Requires seed_determined_coordinates().
  Update SeededPattern(size_t dimension, const CodecContext& context) const;

  // The sketch stage when this pipeline is a count sketch (its tables are summed across clients
  // before unsketching), else null.
  const SketchCodec* sketch() const;
  // A count sketch with no byte stage: every client's payload is a plain table of the same
  // linear function of its update, so tables add up entry by entry (under secure aggregation's
  // masks too).
  bool plain_sketch() const;
  // A sketch payload's table, checked like Decode() checks any payload. Requires sketch().
  absl::StatusOr<std::vector<float>> DecodeSketchTable(std::span<const uint8_t> payload,
                                                       size_t dimension) const;

 private:
  Pipeline() = default;
  // The parts of a vector that are encoded independently: the whole vector, or with
  // `pertensor` one per tensor of the layout (each with its own seed).
  struct Section {
    size_t offset;
    size_t size;
    std::span<const TensorSpec> layout;
    uint64_t seed;
  };
  std::vector<Section> Sections(size_t dimension, const CodecContext& context) const;
  // A payload whose header, spec, dimension, lengths and checksum were checked, with its body
  // after the byte stage was undone.
  struct OpenedPayload {
    uint64_t seed = 0;
    std::span<const uint8_t> wire_body;            // into the payload
    std::optional<std::vector<uint8_t>> expanded;  // set when there is a byte stage
    std::span<const uint8_t> body() const { return expanded ? *expanded : wire_body; }
  };
  absl::StatusOr<OpenedPayload> Open(std::span<const uint8_t> payload, size_t dimension) const;
  // Writes the header; returns where the body starts.
  size_t StartPayload(size_t dimension, uint64_t seed, ByteWriter& out) const;
  // Applies the byte stage to the body (of a `dimension`-coordinate vector) and appends the
  // checksum.
  void FinishPayload(size_t body_start, size_t dimension, Payload& payload) const;
  // Whether the header carries the encoding seed: only a selector that regenerates its indices
  // from it needs it to decode.
  bool seed_on_wire() const;

  std::unique_ptr<Selector> selector_;
  std::unique_ptr<ValueCodec> values_;
  std::unique_ptr<ByteCodec> bytes_;
  bool per_tensor_ = false;  // `pertensor` first: select and encode each tensor on its own
  std::string spec_;
  uint32_t id_ = 0;  // the low 32 bits of XXH3-64 of spec_
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_PIPELINE_H_
