// Keeps the simulated clients' carried state within a memory budget (compute.client_state_mb):
// error-feedback residuals, PowerSGD's Q and kept optimizer state are model-sized per client that
// ever trained, so a population of 100,000 would need tens of GB. Past the budget the least
// recently trained clients' vectors are written to one unlinked spill file (direct I/O where the
// file system allows it) and leave memory (a residual's buffer is lent to a client of the coming
// round that needs one, the rest freed); when such a client is next in a cohort they are read
// back exactly (the same bytes: results do not depend on the budget). Technique state
// (SCAFFOLD's control variate, local layers) stays in memory.
//
// Not thread-safe: called between rounds.
#ifndef TRIBUTARY_RUN_CLIENT_STATE_SPILL_H_
#define TRIBUTARY_RUN_CLIENT_STATE_SPILL_H_

#include <cstdint>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/client_step.h"

namespace tributary {

class ClientStateSpill {
 public:
  // `budget_bytes` 0: no limit (nothing is ever spilled). The file is created in `dir` (empty:
  // the temp folder) on the first spill.
  // `direct_io`: write the file with O_DIRECT where the file system allows it (tests turn it
  // off to cover the buffered path).
  ClientStateSpill(int64_t budget_bytes, std::string dir, size_t clients, bool direct_io = true);
  ~ClientStateSpill();
  ClientStateSpill(const ClientStateSpill&) = delete;
  ClientStateSpill& operator=(const ClientStateSpill&) = delete;

  // Before a round of `cohort` (the clients this process trains): first spills, least
  // recently trained first, the state of
  // clients outside the cohort until what they hold in memory is within the budget; then reads
  // back what the cohort's clients had spilled. `memories` is every client's, by id. An I/O
  // error leaves every client's state where it was (memory or file) and says what failed.
  absl::Status PrepareRound(std::span<const uint32_t> cohort, std::vector<ClientMemory>& memories);

  // Checkpoints: whether `client`'s state is in the file, and a copy of it (the file and the
  // accounts unchanged).
  bool IsSpilled(uint32_t client) const {
    return budget_bytes_ > 0 && spilled_[client].offset >= 0;
  }
  absl::Status ReadSpilled(uint32_t client, ClientMemory& copy) const;
  // Resuming: `client`'s state was just put in memories[client]; it is accounted, and the least
  // recently adopted clients are spilled while the state in memory exceeds the budget.
  absl::Status Adopt(uint32_t client, std::vector<ClientMemory>& memories);

  // Bytes of spillable state now in memory (as of the last PrepareRound) and in the file.
  int64_t resident_bytes() const { return resident_bytes_; }
  int64_t spilled_bytes() const { return spilled_bytes_; }
  const std::string& path() const { return path_; }

 private:
  struct Extent {
    int64_t offset = -1;    // -1: not spilled
    int64_t length = 0;     // the record's bytes
    int64_t footprint = 0;  // the file's bytes it takes (padded to blocks for direct I/O)
  };

  // Brings the bytes each of the last cohort's clients now holds into the accounts.
  // Takes back the buffers lent to clients that did not use them.
  void AccountLastCohort(std::vector<ClientMemory>& memories);
  absl::Status Spill(uint32_t client, ClientMemory& memory);
  absl::Status Restore(uint32_t client, ClientMemory& memory);
  // Reads the record at `extent` into `memory`'s empty vectors (left empty on an error).
  absl::Status ReadRecord(uint32_t client, const Extent& extent, ClientMemory& memory) const;
  absl::Status OpenFile();
  int64_t AllocateExtent(int64_t length);

  int64_t budget_bytes_;
  std::string dir_;
  std::string path_;  // the file's folder and name, for messages (the file itself is unlinked)
  int fd_ = -1;
  bool try_direct_ = true;
  bool direct_ = false;  // the file is open with O_DIRECT
  // A block-aligned buffer that direct I/O goes through (records are copied in and out).
  uint8_t* Staging(int64_t bytes) const;
  mutable std::unique_ptr<uint8_t, decltype(&std::free)> staging_{nullptr, &std::free};
  mutable int64_t staging_size_ = 0;
  int64_t file_end_ = 0;
  std::map<int64_t, std::vector<int64_t>> free_extents_;  // by length: offsets to reuse

  std::vector<int64_t> bytes_;     // per client: its spillable state in memory
  std::vector<int64_t> last_use_;  // per client: the PrepareRound call that last had it, or -1
  std::vector<Extent> spilled_;    // per client
  // (client, call) in the order of use; an entry is stale once the client was used again.
  std::deque<std::pair<uint32_t, int64_t>> use_order_;
  std::vector<uint32_t> last_cohort_;
  // Residual buffers of clients just spilled, lent to the round's clients that need one.
  std::vector<std::vector<float>> spare_;
  int64_t calls_ = 0;
  int64_t resident_bytes_ = 0;
  int64_t spilled_bytes_ = 0;
};

}  // namespace tributary

#endif  // TRIBUTARY_RUN_CLIENT_STATE_SPILL_H_
