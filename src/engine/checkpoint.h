// The deployed server's checkpoint, written after every round through a temporary file and a
// rename (a crash leaves the previous checkpoint whole), and read by `tributary server --resume`.
// It holds what the next round depends on: the global model, the public model clients sync to,
// the strategy's carried buffers and the byte totals. A checkpoint is tied to its run's config
// by a fingerprint, and carries its own checksum.
#ifndef TRIBUTARY_ENGINE_CHECKPOINT_H_
#define TRIBUTARY_ENGINE_CHECKPOINT_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tensor/model_state.h"

namespace tributary {

struct Checkpoint {
  int round = 0;  // the last completed round
  uint64_t config_fingerprint = 0;
  int64_t bytes_up_total = 0;
  int64_t bytes_down_total = 0;
  int64_t examples_trained_total = 0;  // by accepted clients (tokens_trained_total, for text)
  ModelState global;
  ModelState public_model;
  int64_t public_version = 0;
  std::vector<std::vector<float>> strategy_state;
};

// Checkpoint files start with these bytes (and end with the XXH64 of everything before).
inline constexpr char kCheckpointMagic[8] = {'T', 'R', 'I', 'B', 'C', 'K', 'P', 'T'};

// The file's bytes.
std::vector<uint8_t> SerializeCheckpoint(const Checkpoint& checkpoint);

// Durably (fsynced) replaces the checkpoint at `path`, keeping the one it replaces at
// PreviousVersionPath(path).
absl::Status WriteCheckpoint(const std::string& path, const Checkpoint& checkpoint);

// Reads a checkpoint whose models have `layout`; fails with a clear message on a truncated or
// corrupted file, another format version, or another layout.
absl::StatusOr<Checkpoint> ReadCheckpoint(const std::string& path,
                                          const std::vector<TensorSpec>& layout);

// ReadCheckpoint on bytes already read; `path` names them in errors.
absl::StatusOr<Checkpoint> ParseCheckpoint(std::span<const uint8_t> file, const std::string& path,
                                           const std::vector<TensorSpec>& layout);

// The checkpoint at `path`, or when it is missing, truncated or corrupt, the one before it (with
// a warning); fails when neither can be read.
absl::StatusOr<Checkpoint> ReadNewestValidCheckpoint(const std::string& path,
                                                     const std::vector<TensorSpec>& layout);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_CHECKPOINT_H_
