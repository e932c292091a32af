#include "compress/pipeline.h"

#include <xxhash.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_util.h"
#include "compress/codec_registry.h"
#include "compress/fp32_codec.h"

namespace tributary {
namespace {

constexpr char kMagic[4] = {'T', 'R', 'B', 'P'};
constexpr uint8_t kVersion = 1;
constexpr size_t kFixedHeader = 4 + 1 + 1 + 2 + 8 + 8 + 8;
constexpr size_t kChecksumBytes = 8;
// Sanity bound on dimensions (indices are 32-bit).
constexpr uint64_t kMaxDimension = uint64_t{1} << 32;

}  // namespace

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Parse(std::string_view text) {
  std::unique_ptr<Pipeline> pipeline(new Pipeline());
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(absl::string_view(text.data(), text.size()), '|')) {
    parts.emplace_back(part);
  }
  for (const std::string& part : parts) {
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
  if (pipeline->values_->needs_layout() && pipeline->selector_) {
    return absl::InvalidArgumentError(
        absl::StrCat("pipeline '", std::string(text), "': ", pipeline->values_->spec(),
                     " works on whole matrices; it takes no selector"));
  }
  std::vector<std::string> specs;
  if (pipeline->selector_) specs.push_back(pipeline->selector_->spec());
  specs.push_back(pipeline->values_->spec());
  if (pipeline->bytes_) specs.push_back(pipeline->bytes_->spec());
  pipeline->spec_ = absl::StrJoin(specs, "|");
  if (pipeline->spec_.size() > 0xffff) return absl::InvalidArgumentError("pipeline text too long");
  return pipeline;
}

bool Pipeline::lossless() const { return !selector_ && values_->lossless(); }

bool Pipeline::unbiased() const {
  return (!selector_ || selector_->unbiased()) && values_->unbiased();
}

Payload Pipeline::Encode(std::span<const float> x, const CodecContext& context) const {
  if (!selector_) return Seal(x.size(), nullptr, x, context);
  std::vector<uint32_t> indices;
  selector_->Select(x, context.seed, &indices);
  const double scale = selector_->value_scale(x.size(), indices.size());
  std::vector<float> selected(indices.size());
  for (size_t j = 0; j < indices.size(); ++j) {
    selected[j] = static_cast<float>(x[indices[j]] * scale);
  }
  std::span<const uint32_t> chosen(indices);
  return Seal(x.size(), &chosen, selected, context);
}

Payload Pipeline::EncodeSparse(size_t dimension, std::span<const uint32_t> indices,
                               std::span<const float> values, uint64_t seed) const {
  return Seal(dimension, &indices, values, CodecContext{.seed = seed});
}

Payload Pipeline::Seal(size_t dimension, const std::span<const uint32_t>* indices,
                       std::span<const float> values, const CodecContext& context) const {
  const uint64_t seed = context.seed;
  std::vector<uint8_t> body;
  ByteWriter writer(&body);
  if (indices != nullptr) {
    writer.PutVarint(indices->size());
    if (!selector_->indices_from_seed()) {
      uint32_t next = 0;  // smallest index still possible
      for (uint32_t index : *indices) {
        writer.PutVarint(index - next);
        next = index + 1;
      }
    }
  }
  values_->Encode(values, context, writer);
  if (bytes_) body = bytes_->Encode(body);

  Payload payload;
  ByteWriter out(&payload);
  out.PutBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kMagic), 4));
  out.Put<uint8_t>(kVersion);
  out.Put<uint8_t>(0);
  out.Put<uint16_t>(static_cast<uint16_t>(spec_.size()));
  out.Put<uint64_t>(dimension);
  out.Put<uint64_t>(seed);
  out.Put<uint64_t>(body.size());
  out.PutBytes(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(spec_.data()), spec_.size()));
  out.PutBytes(body);
  out.Put<uint64_t>(XXH3_64bits(payload.data(), payload.size()));
  return payload;
}

absl::StatusOr<Update> Pipeline::Decode(std::span<const uint8_t> payload, size_t dimension,
                                        std::span<const TensorSpec> layout) const {
  const CodecContext context{.layout = layout};
  if (payload.size() < kFixedHeader + kChecksumBytes) {
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
  TRIB_ASSIGN_OR_RETURN(uint8_t reserved, header.Get<uint8_t>());
  TRIB_ASSIGN_OR_RETURN(uint16_t spec_size, header.Get<uint16_t>());
  TRIB_ASSIGN_OR_RETURN(uint64_t payload_dimension, header.Get<uint64_t>());
  TRIB_ASSIGN_OR_RETURN(uint64_t seed, header.Get<uint64_t>());
  TRIB_ASSIGN_OR_RETURN(uint64_t body_size, header.Get<uint64_t>());
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> spec, header.GetBytes(spec_size));
  if (reserved != 0) return absl::DataLossError("payload header has reserved bits set");
  if (std::string_view(reinterpret_cast<const char*>(spec.data()), spec.size()) != spec_) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload encoded with '",
                     std::string(reinterpret_cast<const char*>(spec.data()), spec.size()),
                     "', expected '", spec_, "'"));
  }
  if (payload_dimension != dimension || dimension > kMaxDimension) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload has ", payload_dimension, " values, expected ", dimension));
  }
  if (body_size != header.remaining()) {
    return absl::DataLossError(absl::StrCat("payload body length ", body_size, " but ",
                                            header.remaining(), " bytes follow the header"));
  }
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> wire_body, header.GetBytes(body_size));

  std::vector<uint8_t> expanded;
  std::span<const uint8_t> body = wire_body;
  if (bytes_) {
    // No honest body is larger than fp32 values plus 10-byte varints for every index.
    TRIB_ASSIGN_OR_RETURN(expanded, bytes_->Decode(wire_body, dimension * 14 + 64));
    body = expanded;
  }
  ByteReader reader(body);
  Update update;
  if (selector_) {
    TRIB_ASSIGN_OR_RETURN(uint64_t count, reader.GetVarint());
    if (count > dimension) {
      return absl::DataLossError(
          absl::StrCat("payload selects ", count, " of ", dimension, " values"));
    }
    std::vector<uint32_t> indices;
    if (selector_->indices_from_seed()) {
      indices = selector_->Regenerate(dimension, seed);
      if (indices.size() != count)
        return absl::DataLossError("payload index count does not match its seed");
    } else {
      indices.resize(count);
      uint64_t next = 0;
      for (uint64_t j = 0; j < count; ++j) {
        TRIB_ASSIGN_OR_RETURN(uint64_t gap, reader.GetVarint());
        const uint64_t index = next + gap;
        if (gap >= dimension || index >= dimension) {
          return absl::DataLossError(
              absl::StrCat("payload index ", index, " outside [0, ", dimension, ")"));
        }
        indices[j] = static_cast<uint32_t>(index);
        next = index + 1;
      }
    }
    std::vector<float> values(count);
    TRIB_RETURN_IF_ERROR(values_->Decode(reader, context, values));
    update = Update::Sparse(dimension, std::move(indices), std::move(values));
  } else {
    std::vector<float> values(dimension);
    TRIB_RETURN_IF_ERROR(values_->Decode(reader, context, values));
    update = Update::Dense(std::move(values));
  }
  if (reader.remaining() != 0) {
    return absl::DataLossError(absl::StrCat("payload has ", reader.remaining(), " unread bytes"));
  }
  bool finite = true;
  for (float v : update.values) finite &= std::isfinite(v);
  if (!finite) return absl::InvalidArgumentError("payload holds a non-finite value");
  return update;
}

}  // namespace tributary
