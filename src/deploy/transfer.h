// Chunked transfers of codec payloads over the coordinator protocol. A payload travels as a
// header (size, checksum) and chunks of at most kChunkBytes; the receiver uses it only when
// exactly the announced bytes arrived and their checksum matches, so a transfer cut short (a
// client killed mid-upload) is never taken for a complete one.
#ifndef TRIBUTARY_DEPLOY_TRANSFER_H_
#define TRIBUTARY_DEPLOY_TRANSFER_H_

#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/statusor.h"
#include "compress/pipeline.h"

namespace tributary {

// 1 MiB: measured faster than 4 MiB on loopback (deploy_bench), and far below gRPC's default
// 4 MiB message limit.
constexpr size_t kChunkBytes = size_t{1} << 20;

// The largest payload either side accepts for a model of `model_bytes` (fp32): an honest one is
// at most a little larger than the fp32 model (codec headers); anything past twice it is refused
// before a byte is buffered.
inline int64_t MaxPayloadBytes(size_t model_bytes) {
  return static_cast<int64_t>(model_bytes) * 2 + (int64_t{1} << 20);
}

// xxh64 of the payload bytes.
uint64_t PayloadChecksum(std::span<const uint8_t> payload);

// How the receive buffer's memory is backed. kHuge asks for transparent huge pages
// (common/huge_pages.h): the client's 1 GiB downloads ran at 2.2-2.6 GB/s with them against
// 1.0-1.6 without (deploy_bench). The server's upload buffer keeps ordinary pages: with huge pages
// its second 1 GiB upload consistently took 1.4-1.6 s instead of 0.8-1.0 s, for reasons not found.
enum class BufferPages { kOrdinary, kHuge };

// Collects the chunks of one payload announced as `expected_bytes` with `checksum`.
class PayloadAssembler {
 public:
  // Fails when the announced size is negative or above `max_bytes`. The payload is received into
  // `buffer`'s memory (its contents are dropped), reallocated only when its capacity is short.
  static absl::StatusOr<PayloadAssembler> Start(int64_t expected_bytes, uint64_t checksum,
                                                int64_t max_bytes,
                                                BufferPages pages = BufferPages::kOrdinary,
                                                Payload buffer = {});

  // Fails when the chunk is empty, larger than kChunkBytes, or goes past the announced size.
  absl::Status Add(std::string_view chunk);
  // The same, where an empty chunk is allowed (the first chunk of an empty payload).
  absl::Status AddFirst(std::string_view chunk) {
    return chunk.empty() ? absl::OkStatus() : Add(chunk);
  }
  int64_t received() const { return static_cast<int64_t>(payload_.size()); }
  int64_t expected() const { return expected_; }

  // The payload, once every byte arrived and the checksum matches.
  absl::StatusOr<Payload> Finish() &&;
  // The buffer back, whatever arrived (for the next transfer).
  Payload Release() && { return std::move(payload_); }

 private:
  PayloadAssembler(int64_t expected, uint64_t checksum)
      : expected_(expected), checksum_(checksum) {}
  int64_t expected_;
  uint64_t checksum_;
  Payload payload_;
};

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_TRANSFER_H_
