// RoundShare: what one rank of a distributed simulation (dist/communicator.h) tells the others
// after training its part of a round's cohort: each client's record, and the upload the engine
// has yet to fold in. Every rank then submits every upload, so each holds the same aggregate.
//
// The bytes come from another process: Parse checks every length against the buffer, every
// enum against its range, and refuses trailing bytes; an error, never a crash.
#ifndef TRIBUTARY_RUN_ROUND_SHARE_H_
#define TRIBUTARY_RUN_ROUND_SHARE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/client_channel.h"

namespace tributary {

struct SharedClient {
  uint32_t position = 0;               // in the round's cohort
  ClientRecord record;                 // its fate is decided by the submit when `upload` is set
  std::optional<ClientUpload> upload;  // its report is record.report
};

std::vector<uint8_t> SerializeRoundShare(std::span<const SharedClient> clients);
absl::StatusOr<std::vector<SharedClient>> ParseRoundShare(std::span<const uint8_t> bytes);

}  // namespace tributary

#endif  // TRIBUTARY_RUN_ROUND_SHARE_H_
