#include "deploy/transfer.h"

#include <xxhash.h>

#include "absl/strings/str_cat.h"
#include "common/huge_pages.h"

namespace tributary {

uint64_t PayloadChecksum(std::span<const uint8_t> payload) {
  return XXH64(payload.data(), payload.size(), 0);
}

absl::StatusOr<PayloadAssembler> PayloadAssembler::Start(int64_t expected_bytes, uint64_t checksum,
                                                         int64_t max_bytes, BufferPages pages,
                                                         Payload buffer) {
  if (expected_bytes < 0 || expected_bytes > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("announced payload of ", expected_bytes, " bytes; the limit is ", max_bytes));
  }
  PayloadAssembler assembler(expected_bytes, checksum);
  assembler.payload_ = std::move(buffer);
  assembler.payload_.clear();
  assembler.payload_.reserve(static_cast<size_t>(expected_bytes));
  if (pages == BufferPages::kHuge) {
    AdviseHugePages(assembler.payload_.data(), assembler.payload_.capacity());
  }
  return assembler;
}

absl::Status PayloadAssembler::Add(std::string_view chunk) {
  if (chunk.empty() || chunk.size() > kChunkBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk of ", chunk.size(), " bytes; expected 1 to ", kChunkBytes));
  }
  if (received() + static_cast<int64_t>(chunk.size()) > expected_) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunks exceed the announced ", expected_, " bytes"));
  }
  payload_.insert(payload_.end(), chunk.begin(), chunk.end());
  return absl::OkStatus();
}

absl::StatusOr<Payload> PayloadAssembler::Finish() && {
  if (received() != expected_) {
    return absl::DataLossError(
        absl::StrCat("transfer incomplete: ", received(), " of ", expected_, " bytes"));
  }
  if (PayloadChecksum(payload_) != checksum_) {
    return absl::DataLossError("transfer checksum mismatch");
  }
  return std::move(payload_);
}

}  // namespace tributary
