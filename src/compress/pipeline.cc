#include "compress/pipeline.h"

#include <xxhash.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "compress/codec_registry.h"
#include "compress/fp32_codec.h"
#include "compress/grid_codec.h"
#include "compress/sketch_codec.h"

namespace tributary {
namespace {

constexpr char kMagic[4] = {'T', 'R', 'B', 'P'};
constexpr uint8_t kVersion = 2;
constexpr size_t kChecksumBytes = 8;
// magic, version, pipeline id, dimension (a varint of at most 10 bytes), seed.
constexpr size_t kMinHeader = 4 + 1 + 4 + 1;
constexpr size_t kMaxHeader = 4 + 1 + 4 + 10 + 8;
// Sanity bound on dimensions (indices are 32-bit).
constexpr uint64_t kMaxDimension = uint64_t{1} << 32;
constexpr char kPerTensor[] = "pertensor";

void WriteIndices(std::span<const uint32_t> indices, bool send, ByteWriter& writer) {
  writer.PutVarint(indices.size());
  if (!send) return;
  uint32_t next = 0;  // smallest index still possible
  for (uint32_t index : indices) {
    writer.PutVarint(index - next);
    next = index + 1;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Parse(std::string_view text) {
  std::unique_ptr<Pipeline> pipeline(new Pipeline());
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(absl::string_view(text.data(), text.size()), '|')) {
    parts.emplace_back(part);
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    if (part == kPerTensor) {
      if (i != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("pipeline '", std::string(text), "': pertensor must come first"));
      }
      pipeline->per_tensor_ = true;
      continue;
    }
    TRIB_ASSIGN_OR_RETURN(CodecParams params, CodecParams::Parse(part));
    TRIB_ASSIGN_OR_RETURN(CodecStage stage, MakeCodecStage(params));
    // Roles must come in order: selector, value codec, byte codec, at most one of each.
    const std::string context = absl::StrCat("pipeline '", std::string(text), "': ");
    if (stage.selector) {
      if (pipeline->selector_ || pipeline->values_ || pipeline->bytes_) {
        return absl::InvalidArgumentError(
            absl::StrCat(context, "'", part, "' selects coordinates; it must come first, once"));
      }
      pipeline->selector_ = std::move(stage.selector);
    } else if (stage.values) {
      if (pipeline->values_ || pipeline->bytes_) {
        return absl::InvalidArgumentError(absl::StrCat(
            context, "'", part, "' encodes values; only one value stage, before any byte stage"));
      }
      pipeline->values_ = std::move(stage.values);
    } else {
      if (pipeline->bytes_) {
        return absl::InvalidArgumentError(
            absl::StrCat(context, "'", part, "': only one byte stage, and it comes last"));
      }
      pipeline->bytes_ = std::move(stage.bytes);
    }
  }
  if (!pipeline->values_) pipeline->values_ = std::make_unique<Fp32Codec>();
  if (pipeline->values_->whole_vector_only() && (pipeline->selector_ || pipeline->per_tensor_)) {
    return absl::InvalidArgumentError(absl::StrCat("pipeline '", std::string(text),
                                                   "': ", pipeline->values_->spec(),
                                                   " works on the whole vector (or per matrix "
                                                   "already); it takes no selector or pertensor"));
  }
  std::vector<std::string> specs;
  if (pipeline->per_tensor_) specs.push_back(kPerTensor);
  if (pipeline->selector_) specs.push_back(pipeline->selector_->spec());
  specs.push_back(pipeline->values_->spec());
  if (pipeline->bytes_) {
    const BodyShape shape{
        .per_tensor = pipeline->per_tensor_,
        .count = pipeline->selector_ != nullptr,
        .indices = pipeline->selector_ != nullptr && !pipeline->selector_->indices_from_seed(),
        .values = pipeline->values_.get()};
    if (absl::Status bound = pipeline->bytes_->Bind(shape); !bound.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("pipeline '", std::string(text), "': ", bound.message()));
    }
    specs.push_back(pipeline->bytes_->spec());
  }
  pipeline->spec_ = absl::StrJoin(specs, "|");
  pipeline->id_ =
      static_cast<uint32_t>(XXH3_64bits(pipeline->spec_.data(), pipeline->spec_.size()));
  return pipeline;
}

std::optional<int> Pipeline::grid_exponent() const {
  const auto* grid = dynamic_cast<const GridCodec*>(values_.get());
  if (grid == nullptr) return std::nullopt;
  return grid->exp();
}

bool Pipeline::lossless() const { return !selector_ && values_->lossless(); }

bool Pipeline::unbiased() const {
  return (!selector_ || selector_->unbiased()) && values_->unbiased();
}

std::vector<Pipeline::Section> Pipeline::Sections(size_t dimension,
                                                  const CodecContext& context) const {
  size_t total = 0;
  for (const TensorSpec& spec : context.layout) total += static_cast<size_t>(spec.NumElements());
  if (!per_tensor_ || context.layout.empty() || total != dimension) {
    return {Section{0, dimension, context.layout, context.seed}};
  }
  std::vector<Section> sections;
  size_t offset = 0;
  for (size_t i = 0; i < context.layout.size(); ++i) {
    const size_t size = static_cast<size_t>(context.layout[i].NumElements());
    sections.push_back({offset, size, context.layout.subspan(i, 1),
                        DeriveSeed(context.seed, 0, i, RngPurpose::kCodec)});
    offset += size;
  }
  return sections;
}

bool Pipeline::seed_determined_coordinates() const {
  return values_->lossless() && !bytes_ && (!selector_ || selector_->indices_from_seed());
}

Update Pipeline::SeededPattern(size_t dimension, const CodecContext& context) const {
  Update pattern{.dimension = dimension, .sparse = true};
  for (const Section& section : Sections(dimension, context)) {
    std::vector<uint32_t> indices;
    if (selector_) {
      indices = selector_->Regenerate(section.size, section.seed);
    } else {
      indices.resize(section.size);
      for (size_t i = 0; i < section.size; ++i) indices[i] = static_cast<uint32_t>(i);
    }
    const double scale =
        selector_ && !context.contract ? selector_->value_scale(section.size, indices.size()) : 1.0;
    for (uint32_t index : indices) {
      pattern.indices.push_back(static_cast<uint32_t>(section.offset + index));
      pattern.values.push_back(static_cast<float>(scale));
    }
  }
  return pattern;
}

Payload Pipeline::Encode(std::span<const float> x, const CodecContext& context) const {
  Payload payload;
  EncodeInto(x, context, &payload);
  return payload;
}

void Pipeline::EncodeInto(std::span<const float> x, const CodecContext& context,
                          Payload* out) const {
  Payload& payload = *out;
  payload.clear();
  // Dense bodies take at most about 4 bytes per value: reserving that (pages are only touched
  // when written) saves regrowing and copying a model-sized buffer.
  if (!selector_) payload.reserve(kMaxHeader + 4 * x.size() + 4096);
  ByteWriter writer(&payload);
  const size_t body_start = StartPayload(x.size(), context.seed, writer);
  for (const Section& section : Sections(x.size(), context)) {
    std::span<const float> part = x.subspan(section.offset, section.size);
    // A value stage after a selector sees the selected values only: no layout.
    const CodecContext part_context{
        .seed = section.seed,
        .layout = selector_ ? std::span<const TensorSpec>() : section.layout,
        .state = context.state,
        .contract = context.contract};
    if (!selector_) {
      values_->Encode(part, part_context, writer);
      continue;
    }
    std::vector<uint32_t> indices;
    selector_->Select(part, section.seed, context.ratio_scale, &indices);
    WriteIndices(indices, !selector_->indices_from_seed(), writer);
    // Contracted, an unbiased selector's scale 1 + w becomes (1 + w) / (1 + w) = 1.
    const double scale =
        context.contract ? 1.0 : selector_->value_scale(part.size(), indices.size());
    std::vector<float> selected(indices.size());
    for (size_t j = 0; j < indices.size(); ++j) {
      selected[j] = static_cast<float>(part[indices[j]] * scale);
    }
    values_->Encode(selected, part_context, writer);
  }
  FinishPayload(body_start, x.size(), payload);
}

Payload Pipeline::EncodeSparse(size_t dimension, std::span<const uint32_t> indices,
                               std::span<const float> values, uint64_t seed) const {
  Payload payload;
  ByteWriter writer(&payload);
  const size_t body_start = StartPayload(dimension, seed, writer);
  WriteIndices(indices, true, writer);
  values_->Encode(values, CodecContext{.seed = seed}, writer);
  FinishPayload(body_start, dimension, payload);
  return payload;
}

bool Pipeline::seed_on_wire() const { return selector_ && selector_->indices_from_seed(); }

// The body is written straight after the header, into the payload itself (no copy of a
// model-sized buffer); it runs to the checksum, so no length field is needed.
size_t Pipeline::StartPayload(size_t dimension, uint64_t seed, ByteWriter& out) const {
  out.PutBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kMagic), 4));
  out.Put<uint8_t>(kVersion);
  out.Put<uint32_t>(id_);
  out.PutVarint(dimension);
  if (seed_on_wire()) out.Put<uint64_t>(seed);
  return out.size();
}

void Pipeline::FinishPayload(size_t body_start, size_t dimension, Payload& payload) const {
  if (bytes_) {
    const std::vector<uint8_t> packed =
        bytes_->Encode(std::span<const uint8_t>(payload).subspan(body_start), dimension);
    payload.resize(body_start);
    payload.insert(payload.end(), packed.begin(), packed.end());
  }
  ByteWriter(&payload).Put<uint64_t>(XXH3_64bits(payload.data(), payload.size()));
}

absl::StatusOr<Pipeline::OpenedPayload> Pipeline::Open(std::span<const uint8_t> payload,
                                                       size_t dimension) const {
  if (payload.size() < kMinHeader + kChecksumBytes) {
    return absl::DataLossError(
        absl::StrCat("payload of ", payload.size(), " bytes is shorter than a header"));
  }
  uint64_t checksum;
  std::memcpy(&checksum, payload.data() + payload.size() - kChecksumBytes, kChecksumBytes);
  if (checksum != XXH3_64bits(payload.data(), payload.size() - kChecksumBytes)) {
    return absl::DataLossError("payload checksum mismatch (corrupted in transit?)");
  }
  ByteReader header(payload.first(payload.size() - kChecksumBytes));
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> magic, header.GetBytes(4));
  if (std::memcmp(magic.data(), kMagic, 4) != 0)
    return absl::DataLossError("not a Tributary payload");
  TRIB_ASSIGN_OR_RETURN(uint8_t version, header.Get<uint8_t>());
  if (version != kVersion) {
    return absl::DataLossError(
        absl::StrCat("payload version ", int{version}, ", this build reads ", int{kVersion}));
  }
  TRIB_ASSIGN_OR_RETURN(uint32_t id, header.Get<uint32_t>());
  if (id != id_) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload encoded with another pipeline (id ", absl::Hex(id, absl::kZeroPad8),
                     "), expected '", spec_, "' (id ", absl::Hex(id_, absl::kZeroPad8), ")"));
  }
  TRIB_ASSIGN_OR_RETURN(uint64_t payload_dimension, header.GetVarint());
  if (payload_dimension != dimension || dimension > kMaxDimension) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload has ", payload_dimension, " values, expected ", dimension));
  }
  uint64_t seed = 0;
  if (seed_on_wire()) {
    TRIB_ASSIGN_OR_RETURN(seed, header.Get<uint64_t>());
  }
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> wire_body, header.GetBytes(header.remaining()));

  OpenedPayload opened{.seed = seed, .wire_body = wire_body};
  if (bytes_) {
    // No honest body is larger than fp32 values plus 10-byte varints for every index (or, for a
    // sketch, than its table).
    size_t max_size = dimension * 14 + 64;
    if (const SketchCodec* sketch_codec = sketch()) {
      max_size = std::max(max_size, sketch_codec->table_size() * sizeof(float));
    }
    TRIB_ASSIGN_OR_RETURN(opened.expanded, bytes_->Decode(wire_body, dimension, max_size));
  }
  return opened;
}

absl::StatusOr<Update> Pipeline::Decode(std::span<const uint8_t> payload, size_t dimension,
                                        std::span<const TensorSpec> layout) const {
  Update update;
  TRIB_RETURN_IF_ERROR(DecodeInto(payload, dimension, layout, update));
  return update;
}

absl::Status Pipeline::DecodeInto(std::span<const uint8_t> payload, size_t dimension,
                                  std::span<const TensorSpec> layout, Update& update) const {
  update.values.clear();
  update.indices.clear();
  update.dimension = dimension;
  update.sparse = selector_ != nullptr;
  if (!selector_) {
    update.values.resize(dimension);
    return DecodeDenseInto(payload, layout, update.values);
  }
  TRIB_ASSIGN_OR_RETURN(OpenedPayload opened, Open(payload, dimension));
  const uint64_t seed = opened.seed;
  std::span<const uint8_t> body = opened.body();
  ByteReader reader(body);
  for (const Section& section : Sections(dimension, CodecContext{.seed = seed, .layout = layout})) {
    const CodecContext part_context{
        .seed = section.seed, .layout = selector_ ? std::span<const TensorSpec>() : section.layout};
    TRIB_ASSIGN_OR_RETURN(uint64_t count, reader.GetVarint());
    if (count > section.size) {
      return absl::DataLossError(
          absl::StrCat("payload selects ", count, " of ", section.size, " values"));
    }
    std::vector<uint32_t> indices;
    if (selector_->indices_from_seed()) {
      indices = selector_->Regenerate(section.size, section.seed);
      if (indices.size() != count) {
        return absl::DataLossError("payload index count does not match its seed");
      }
    } else {
      indices.resize(count);
      uint64_t next = 0;
      for (uint64_t j = 0; j < count; ++j) {
        TRIB_ASSIGN_OR_RETURN(uint64_t gap, reader.GetVarint());
        const uint64_t index = next + gap;
        if (gap >= section.size || index >= section.size) {
          return absl::DataLossError(
              absl::StrCat("payload index ", index, " outside [0, ", section.size, ")"));
        }
        indices[j] = static_cast<uint32_t>(index);
        next = index + 1;
      }
    }
    std::vector<float> values(count);
    TRIB_RETURN_IF_ERROR(values_->Decode(reader, part_context, values));
    for (uint32_t index : indices)
      update.indices.push_back(static_cast<uint32_t>(section.offset + index));
    update.values.insert(update.values.end(), values.begin(), values.end());
  }
  if (reader.remaining() != 0) {
    return absl::DataLossError(absl::StrCat("payload has ", reader.remaining(), " unread bytes"));
  }
  bool finite = true;
  for (float v : update.values) finite &= std::isfinite(v);
  if (!finite) return absl::InvalidArgumentError("payload holds a non-finite value");
  return absl::OkStatus();
}

absl::Status Pipeline::DecodeDenseInto(std::span<const uint8_t> payload,
                                       std::span<const TensorSpec> layout,
                                       std::span<float> out) const {
  if (selector_) {
    return absl::FailedPreconditionError(
        absl::StrCat("pipeline '", spec_, "' selects coordinates; it has no dense decoding"));
  }
  TRIB_ASSIGN_OR_RETURN(OpenedPayload opened, Open(payload, out.size()));
  ByteReader reader(opened.body());
  for (const Section& section :
       Sections(out.size(), CodecContext{.seed = opened.seed, .layout = layout})) {
    TRIB_RETURN_IF_ERROR(
        values_->Decode(reader, CodecContext{.seed = section.seed, .layout = section.layout},
                        out.subspan(section.offset, section.size)));
  }
  if (reader.remaining() != 0) {
    return absl::DataLossError(absl::StrCat("payload has ", reader.remaining(), " unread bytes"));
  }
  bool finite = true;
  for (float v : out) finite &= std::isfinite(v);
  if (!finite) return absl::InvalidArgumentError("payload holds a non-finite value");
  return absl::OkStatus();
}

const SketchCodec* Pipeline::sketch() const {
  return dynamic_cast<const SketchCodec*>(values_.get());
}

bool Pipeline::plain_sketch() const { return sketch() != nullptr && !bytes_; }

absl::StatusOr<std::vector<float>> Pipeline::DecodeSketchTable(std::span<const uint8_t> payload,
                                                               size_t dimension) const {
  const SketchCodec* sketch_codec = sketch();
  if (sketch_codec == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("pipeline '", spec_, "' is not a sketch"));
  }
  TRIB_ASSIGN_OR_RETURN(OpenedPayload opened, Open(payload, dimension));
  ByteReader reader(opened.body());
  std::vector<float> table(sketch_codec->table_size());
  TRIB_RETURN_IF_ERROR(sketch_codec->ReadTable(reader, table));
  if (reader.remaining() != 0) {
    return absl::DataLossError(absl::StrCat("payload has ", reader.remaining(), " unread bytes"));
  }
  return table;
}

}  // namespace tributary
