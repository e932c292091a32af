#include "engine/checkpoint.h"

#include <xxhash.h>

#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/status_util.h"
#include "compress/byte_stream.h"

namespace tributary {
namespace {

constexpr const char (&kMagic)[8] = kCheckpointMagic;
constexpr uint32_t kFormatVersion = 2;  // 2: examples_trained_total

void PutFloats(ByteWriter& out, std::span<const float> values) {
  out.Put<uint64_t>(values.size());
  out.PutBytes({reinterpret_cast<const uint8_t*>(values.data()), values.size_bytes()});
}

absl::Status GetFloats(ByteReader& in, std::span<float> values) {
  TRIB_ASSIGN_OR_RETURN(uint64_t count, in.Get<uint64_t>());
  if (count != values.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint holds ", count, " values where ", values.size(), " are expected"));
  }
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, in.GetBytes(values.size_bytes()));
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());
  return absl::OkStatus();
}

}  // namespace

std::vector<uint8_t> SerializeCheckpoint(const Checkpoint& checkpoint) {
  std::vector<uint8_t> bytes;
  ByteWriter out(&bytes);
  out.PutBytes({reinterpret_cast<const uint8_t*>(kMagic), sizeof(kMagic)});
  out.Put<uint32_t>(kFormatVersion);
  out.Put<int32_t>(checkpoint.round);
  out.Put<uint64_t>(checkpoint.config_fingerprint);
  out.Put<int64_t>(checkpoint.bytes_up_total);
  out.Put<int64_t>(checkpoint.bytes_down_total);
  out.Put<int64_t>(checkpoint.examples_trained_total);
  out.Put<int64_t>(checkpoint.public_version);
  PutFloats(out, checkpoint.global.flat());
  PutFloats(out, checkpoint.public_model.flat());
  out.Put<uint32_t>(static_cast<uint32_t>(checkpoint.strategy_state.size()));
  for (const std::vector<float>& buffer : checkpoint.strategy_state) PutFloats(out, buffer);
  out.Put<uint64_t>(XXH64(bytes.data(), bytes.size(), 0));
  return bytes;
}

absl::Status WriteCheckpoint(const std::string& path, const Checkpoint& checkpoint) {
  const std::vector<uint8_t> bytes = SerializeCheckpoint(checkpoint);
  return ReplaceFileKeepingPrevious(path,
                                    {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
}

absl::StatusOr<Checkpoint> ReadCheckpoint(const std::string& path,
                                          const std::vector<TensorSpec>& layout) {
  TRIB_ASSIGN_OR_RETURN(std::string file, ReadFile(path));
  return ParseCheckpoint({reinterpret_cast<const uint8_t*>(file.data()), file.size()}, path,
                         layout);
}

absl::StatusOr<Checkpoint> ParseCheckpoint(std::span<const uint8_t> file, const std::string& path,
                                           const std::vector<TensorSpec>& layout) {
  const uint8_t* data = file.data();
  if (file.size() < sizeof(kMagic) + sizeof(uint64_t) ||
      std::memcmp(data, kMagic, sizeof(kMagic)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a tributary checkpoint"));
  }
  const size_t body = file.size() - sizeof(uint64_t);
  uint64_t stored_checksum;
  std::memcpy(&stored_checksum, data + body, sizeof(stored_checksum));
  if (XXH64(data, body, 0) != stored_checksum) {
    return absl::DataLossError(absl::StrCat(path, ": checksum mismatch (truncated or corrupted)"));
  }
  ByteReader in({data + sizeof(kMagic), body - sizeof(kMagic)});
  TRIB_ASSIGN_OR_RETURN(uint32_t version, in.Get<uint32_t>());
  if (version != kFormatVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": checkpoint format ", version, "; this build reads ", kFormatVersion));
  }
  Checkpoint checkpoint;
  TRIB_ASSIGN_OR_RETURN(checkpoint.round, in.Get<int32_t>());
  TRIB_ASSIGN_OR_RETURN(checkpoint.config_fingerprint, in.Get<uint64_t>());
  TRIB_ASSIGN_OR_RETURN(checkpoint.bytes_up_total, in.Get<int64_t>());
  TRIB_ASSIGN_OR_RETURN(checkpoint.bytes_down_total, in.Get<int64_t>());
  TRIB_ASSIGN_OR_RETURN(checkpoint.examples_trained_total, in.Get<int64_t>());
  TRIB_ASSIGN_OR_RETURN(checkpoint.public_version, in.Get<int64_t>());
  TRIB_ASSIGN_OR_RETURN(checkpoint.global, ModelState::Zeros(layout));
  checkpoint.public_model = checkpoint.global;
  TRIB_RETURN_IF_ERROR(GetFloats(in, checkpoint.global.flat()));
  TRIB_RETURN_IF_ERROR(GetFloats(in, checkpoint.public_model.flat()));
  TRIB_ASSIGN_OR_RETURN(uint32_t buffers, in.Get<uint32_t>());
  for (uint32_t b = 0; b < buffers; ++b) {
    TRIB_ASSIGN_OR_RETURN(uint64_t count, in.Get<uint64_t>());
    if (count > in.remaining() / sizeof(float)) {
      return absl::DataLossError(absl::StrCat(path, ": strategy buffer past the end"));
    }
    TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, in.GetBytes(count * sizeof(float)));
    std::vector<float>& buffer = checkpoint.strategy_state.emplace_back(count);
    // An empty buffer's data() may be null, which memcpy must not get (found by fuzzing).
    if (count > 0) std::memcpy(buffer.data(), bytes.data(), bytes.size());
  }
  if (in.remaining() != 0) {
    return absl::DataLossError(absl::StrCat(path, ": ", in.remaining(), " unexpected bytes"));
  }
  if (checkpoint.round < 0 || checkpoint.public_version < 1 ||
      checkpoint.examples_trained_total < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": invalid round, version or example count"));
  }
  return checkpoint;
}

absl::StatusOr<Checkpoint> ReadNewestValidCheckpoint(const std::string& path,
                                                     const std::vector<TensorSpec>& layout) {
  absl::StatusOr<Checkpoint> newest = ReadCheckpoint(path, layout);
  if (newest.ok()) return newest;
  const std::string previous = PreviousVersionPath(path);
  if (!std::filesystem::exists(previous)) return newest.status();
  absl::StatusOr<Checkpoint> before = ReadCheckpoint(previous, layout);
  if (!before.ok()) {
    return absl::DataLossError(absl::StrCat(newest.status().message(),
                                            "; the previous one too: ", before.status().message()));
  }
  LogWarning("%s: %s; resuming from the previous checkpoint (round %d)", path,
             std::string(newest.status().message()), before->round);
  return before;
}

}  // namespace tributary
