// RoundShare: what one rank of a distributed simulation (dist/communicator.h) tells the others
// after training its part of a round's cohort: each client's record, and the upload the engine
// has yet to fold in. Every rank then submits every upload, so each holds the same aggregate.
//
// A share is the clients one after another, appended straight from the rank's own buffers and
// parsed into views of the received bytes: a round's uploads (up to the whole cohort's) are
// copied once on each side, not several times.
//
// The bytes come from another process: Parse checks every length against the buffer, every
// enum against its range, and refuses a truncated client; an error, never a crash.
#ifndef TRIBUTARY_RUN_ROUND_SHARE_H_
#define TRIBUTARY_RUN_ROUND_SHARE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/client_channel.h"

namespace tributary {

// What AppendSharedClient writes besides the error text and the upload's bytes, at most.
inline constexpr size_t kSharedClientOverhead = 128;

// Appends one client to `share`: its cohort position, its record and, when its upload awaits
// the engine, the upload (whose report is record.report).
void AppendSharedClient(uint32_t position, const ClientRecord& record, const ClientUpload* upload,
                        std::vector<uint8_t>* share);

struct SharedClientView {
  uint32_t position = 0;  // in the round's cohort
  ClientRecord record;    // its fate is decided by the submit when has_upload
  bool has_upload = false;
  std::span<const uint8_t> update;      // into the parsed bytes
  std::span<const uint8_t> attachment;  // into the parsed bytes
};

// The clients of a share, viewing `bytes` (which must outlive them).
absl::StatusOr<std::vector<SharedClientView>> ParseRoundShare(std::span<const uint8_t> bytes);

}  // namespace tributary

#endif  // TRIBUTARY_RUN_ROUND_SHARE_H_
