#include "compress/arith_codec.h"

#include "absl/strings/str_cat.h"
#include "compress/arith_coder.h"
#include "compress/bit_packing.h"

namespace tributary {
namespace {

// Every model a body is coded with. Encoder and decoder build the same set and use each model
// for the same fields in the same order, so their probabilities evolve identically.
struct FieldModels {
  explicit FieldModels(const ValueLayout& layout)
      : symbols(layout.symbol_bits > 0 ? layout.symbol_bits : 1),
        value_bytes(layout.value_bytes > 0 ? layout.value_bytes : 1, SymbolModel(8)) {}
  AdaptiveBit escape;
  IntegerModel count{2};
  IntegerModel gaps{2};
  IntegerModel varints{3};
  SymbolModel symbols;
  std::vector<SymbolModel> prefix_bytes = std::vector<SymbolModel>(4, SymbolModel(8));
  std::vector<SymbolModel> value_bytes;  // one per byte position within a value
  IntegerModel raw_length{2};
  SymbolModel raw_bytes{8};
};

size_t VarintSize(uint64_t v) {
  size_t size = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++size;
  }
  return size;
}

// A varint in its shortest form (the only one ByteWriter writes): a body holding another
// would not come back byte for byte.
bool GetCanonicalVarint(ByteReader& reader, uint64_t* value) {
  const size_t start = reader.position();
  absl::StatusOr<uint64_t> v = reader.GetVarint();
  if (!v.ok() || reader.position() - start != VarintSize(*v)) return false;
  *value = *v;
  return true;
}

// Hands the fields of `body` to `sink` in order; false when the body does not have `shape`
// (then nothing handed over may be used).
template <typename Sink>
bool WalkBody(std::span<const uint8_t> body, size_t dimension, const BodyShape& shape, Sink& sink) {
  ByteReader reader(body);
  uint64_t n = dimension;
  if (shape.count) {
    if (!GetCanonicalVarint(reader, &n) || n > dimension) return false;
    sink.Count(n);
    for (uint64_t j = 0; shape.indices && j < n; ++j) {
      uint64_t gap;
      if (!GetCanonicalVarint(reader, &gap) || gap >= dimension) return false;
      sink.Gap(gap);
    }
  }
  const ValueLayout layout = *shape.values->LayoutOf(n);
  absl::StatusOr<std::span<const uint8_t>> prefix = reader.GetBytes(layout.prefix_bytes);
  if (!prefix.ok()) return false;
  for (size_t i = 0; i < prefix->size(); ++i) sink.PrefixByte(i, (*prefix)[i]);
  if (layout.symbol_bits > 0) {
    absl::StatusOr<std::span<const uint8_t>> packed =
        reader.GetBytes(PackedBytes(n, layout.symbol_bits));
    if (!packed.ok()) return false;
    // The last byte's unused high bits must be zero, as BitWriter leaves them.
    const int used = static_cast<int>(n * layout.symbol_bits % 8);
    if (used != 0 && (packed->back() >> used) != 0) return false;
    BitReader bits(*packed);
    for (uint64_t j = 0; j < n; ++j) sink.Symbol(bits.Get(layout.symbol_bits));
  } else if (layout.varints) {
    for (uint64_t j = 0; j < n; ++j) {
      uint64_t v;
      if (!GetCanonicalVarint(reader, &v)) return false;
      sink.Varint(v);
    }
  } else if (layout.value_bytes > 0) {
    absl::StatusOr<std::span<const uint8_t>> bytes = reader.GetBytes(n * layout.value_bytes);
    if (!bytes.ok()) return false;
    for (size_t i = 0; i < bytes->size(); ++i) sink.ValueByte(i % layout.value_bytes, (*bytes)[i]);
  }
  return reader.remaining() == 0;
}

struct CheckOnly {
  void Count(uint64_t) {}
  void Gap(uint64_t) {}
  void PrefixByte(size_t, uint8_t) {}
  void Symbol(uint32_t) {}
  void Varint(uint64_t) {}
  void ValueByte(size_t, uint8_t) {}
};

struct EncodeFields {
  FieldModels& models;
  ArithEncoder& encoder;
  void Count(uint64_t v) { models.count.Encode(encoder, v); }
  void Gap(uint64_t v) { models.gaps.Encode(encoder, v); }
  void PrefixByte(size_t i, uint8_t b) { models.prefix_bytes[i % 4].Encode(encoder, b); }
  void Symbol(uint32_t s) { models.symbols.Encode(encoder, s); }
  void Varint(uint64_t v) { models.varints.Encode(encoder, v); }
  void ValueByte(size_t position, uint8_t b) { models.value_bytes[position].Encode(encoder, b); }
};

absl::Status Corrupt(const std::string& what) {
  return absl::DataLossError(absl::StrCat("arith: ", what));
}

}  // namespace

absl::Status ArithCodec::Bind(const BodyShape& shape) {
  if (shape.values == nullptr || !shape.values->LayoutOf(0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("arith codes the fields of qsgd, grid, fp32, fp16 or bf16 values, not of ",
                     shape.values ? shape.values->spec() : "none", "; use zstd"));
  }
  if (shape.per_tensor) {
    return absl::InvalidArgumentError("arith codes one section: it takes no pertensor");
  }
  const int bits = shape.values->LayoutOf(0)->symbol_bits;
  if (bits < 0 || bits > 8) {
    return absl::InvalidArgumentError(absl::StrCat("arith: ", bits, "-bit codes (at most 8)"));
  }
  shape_ = shape;
  return absl::OkStatus();
}

std::vector<uint8_t> ArithCodec::Encode(std::span<const uint8_t> body, size_t dimension) const {
  std::vector<uint8_t> out;
  ArithEncoder encoder(&out);
  CheckOnly check;
  FieldModels models(*shape_.values->LayoutOf(0));
  if (WalkBody(body, dimension, shape_, check)) {
    encoder.Encode(models.escape, 0);
    EncodeFields fields{models, encoder};
    WalkBody(body, dimension, shape_, fields);
  } else {
    encoder.Encode(models.escape, 1);
    models.raw_length.Encode(encoder, body.size());
    for (uint8_t b : body) models.raw_bytes.Encode(encoder, b);
  }
  encoder.Finish();
  return out;
}

absl::StatusOr<std::vector<uint8_t>> ArithCodec::Decode(std::span<const uint8_t> wire,
                                                        size_t dimension, size_t max_size) const {
  std::vector<uint8_t> out;
  ByteWriter writer(&out);
  ArithDecoder decoder(wire);
  FieldModels models(*shape_.values->LayoutOf(0));
  // Every loop below also stops once the decoder reads past the end of the stream (which no
  // encoder's stream does): a short, damaged stream costs work in proportion to its length,
  // not to the counts it claims.
  if (decoder.Decode(models.escape) == 1) {
    uint64_t length;
    if (!models.raw_length.Decode(decoder, &length) || length > max_size) {
      return Corrupt("a raw body longer than allowed");
    }
    for (uint64_t i = 0; i < length && !decoder.Overran(); ++i) {
      out.push_back(static_cast<uint8_t>(models.raw_bytes.Decode(decoder)));
    }
  } else {
    uint64_t n = dimension;
    if (shape_.count) {
      if (!models.count.Decode(decoder, &n) || n > dimension) {
        return Corrupt(absl::StrCat("a count over the dimension ", dimension));
      }
      writer.PutVarint(n);
      for (uint64_t j = 0; shape_.indices && j < n && !decoder.Overran(); ++j) {
        uint64_t gap;
        if (!models.gaps.Decode(decoder, &gap) || gap >= dimension) {
          return Corrupt(absl::StrCat("an index gap past the dimension ", dimension));
        }
        writer.PutVarint(gap);
      }
    }
    const ValueLayout layout = *shape_.values->LayoutOf(n);
    const size_t value_size = layout.symbol_bits > 0 ? PackedBytes(n, layout.symbol_bits)
                              : layout.varints       ? n
                                                     : n * layout.value_bytes;
    if (out.size() + layout.prefix_bytes + value_size > max_size) {
      return Corrupt(absl::StrCat("a body over ", max_size, " bytes"));
    }
    for (size_t i = 0; i < layout.prefix_bytes && !decoder.Overran(); ++i) {
      out.push_back(static_cast<uint8_t>(models.prefix_bytes[i % 4].Decode(decoder)));
    }
    // The codes' buffer is sized from the claimed count: made only while the stream lasts.
    if (layout.symbol_bits > 0 && !decoder.Overran()) {
      BitWriter bits(writer.Extend(value_size));
      for (uint64_t j = 0; j < n && !decoder.Overran(); ++j) {
        bits.Put(models.symbols.Decode(decoder), layout.symbol_bits);
      }
      bits.Flush();
    } else if (layout.varints) {
      for (uint64_t j = 0; j < n && !decoder.Overran(); ++j) {
        uint64_t v;
        if (!models.varints.Decode(decoder, &v)) return Corrupt("a value wider than 64 bits");
        writer.PutVarint(v);
        if (out.size() > max_size) return Corrupt(absl::StrCat("a body over ", max_size, " bytes"));
      }
    } else if (layout.value_bytes > 0) {
      for (size_t i = 0; i < value_size && !decoder.Overran(); ++i) {
        out.push_back(
            static_cast<uint8_t>(models.value_bytes[i % layout.value_bytes].Decode(decoder)));
      }
    }
  }
  if (!decoder.ConsumedExactly()) {
    return Corrupt("the coded stream does not end where the body's fields do");
  }
  return out;
}

}  // namespace tributary
