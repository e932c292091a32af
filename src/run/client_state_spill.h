// Keeps the simulated clients' carried state within a memory budget (compute.client_state_mb):
// error-feedback residuals, PowerSGD's Q and kept optimizer state are model-sized per client that
// ever trained, so a population of 100,000 would need tens of GB. Past the budget the least
// recently trained clients' vectors leave the clients and are written to one unlinked spill file
// (direct I/O where the file system allows it); when such a client is next in a cohort they are
// read back exactly (the same bytes: results do not depend on the budget). Both happen on threads
// of their own while the round trains: a client's training waits for its own state only
// (AwaitRestored). A written residual's buffer is lent to a client of a later round that needs
// one, the rest freed. Technique state (SCAFFOLD's control variate, local layers) stays in memory.
//
// Called between rounds, except AwaitRestored (any thread, during the round).
#ifndef TRIBUTARY_RUN_CLIENT_STATE_SPILL_H_
#define TRIBUTARY_RUN_CLIENT_STATE_SPILL_H_

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/client_step.h"

namespace tributary {

class ClientStateSpill {
 public:
  static constexpr int kVectors = 4;  // residual, low_rank_q, optimizer first and second

  // `budget_bytes` 0: no limit (nothing is ever spilled). The file is created in `dir` (empty:
  // the temp folder) on the first spill.
  // `direct_io`: write the file with O_DIRECT where the file system allows it (tests turn it
  // off to cover the buffered path).
  ClientStateSpill(int64_t budget_bytes, std::string dir, size_t clients, bool direct_io = true);
  ~ClientStateSpill();
  ClientStateSpill(const ClientStateSpill&) = delete;
  ClientStateSpill& operator=(const ClientStateSpill&) = delete;

  // Before a round of `cohort` (the clients this process trains): first spills the state of
  // clients outside the cohort, least recently trained first, until what they hold in memory is
  // within the budget; then reads back what the cohort's clients had spilled. `memories` is every
  // client's, by id. Both run while the round trains: the spilled state is held in memory until
  // written (memory exceeds the budget by up to one round's spills meanwhile; the next call waits
  // for the writes), and a cohort client's state is in `memories` once AwaitRestored(client)
  // returns. An I/O error leaves every client's state where it was (memory or file) and says what
  // failed: a failed write is reported by the next call, with the state back in `memories`; a
  // failed read by AwaitRestored and FinishReading.
  absl::Status PrepareRound(std::span<const uint32_t> cohort, std::vector<ClientMemory>& memories);
  // Blocks until `client`'s spilled state (if it had any) is back in its memory. Thread-safe.
  absl::Status AwaitRestored(uint32_t client);
  // Waits for the round's reads; says whether all succeeded. Call it once the round's training
  // is done, before anything else reads the cohort's memories.
  absl::Status FinishReading();

  // Checkpoints: whether `client`'s state is in the file, and a copy of it (the file and the
  // accounts unchanged; state still being written is copied from memory).
  bool IsSpilled(uint32_t client) const {
    return budget_bytes_ > 0 && spilled_[client].offset >= 0;
  }
  absl::Status ReadSpilled(uint32_t client, ClientMemory& copy) const;
  // Resuming: `client`'s state was just put in memories[client]; it is accounted, and the least
  // recently adopted clients are spilled while the state in memory exceeds the budget.
  absl::Status Adopt(uint32_t client, std::vector<ClientMemory>& memories);

  // Bytes of spillable state now in memory (as of the last PrepareRound) and in the file (or
  // being written to it).
  int64_t resident_bytes() const { return resident_bytes_; }
  int64_t spilled_bytes() const { return spilled_bytes_; }
  const std::string& path() const { return path_; }

 private:
  struct Extent {
    int64_t offset = -1;    // -1: not spilled
    int64_t length = 0;     // the record's bytes
    int64_t footprint = 0;  // the file's bytes it takes (padded to blocks for direct I/O)
  };

  // A client's vectors taken out of memory, on their way to the file.
  struct PendingWrite {
    uint32_t client = 0;
    Extent extent;
    std::array<std::vector<float>, kVectors> vectors;
  };
  // The writer thread's result: how many of the pending records were written, and why not more.
  struct WriteResult {
    size_t written = 0;
    absl::Status status;
  };

  // Brings the bytes each of the last cohort's clients now holds into the accounts.
  // Takes back the buffers lent to clients that did not use them.
  void AccountLastCohort(std::vector<ClientMemory>& memories);
  // Takes `client`'s vectors out of memory into pending_ and accounts them as spilled.
  absl::Status QueueSpill(uint32_t client, ClientMemory& memory);
  // Hands pending_ to the writer thread.
  void StartWriting();
  // Waits for the writer. Written residuals' buffers go to spare_; a record that was not written
  // goes back to its client in `memories`, and the error is returned.
  absl::Status FinishWriting(std::vector<ClientMemory>& memories);
  // The writer thread: pending_[i] for i in order; stops at the first error.
  WriteResult WritePending();
  absl::Status WriteRecord(const PendingWrite& record);
  // The reader thread: reads restoring_ in order into `memories`, publishing progress.
  void ReadCohort(std::vector<ClientMemory>& memories);
  // Reads the record at `extent` into `memory`'s empty vectors (left empty on an error).
  absl::Status ReadRecord(uint32_t client, const Extent& extent, ClientMemory& memory) const;
  absl::Status OpenFile();
  int64_t AllocateExtent(int64_t length);

  int64_t budget_bytes_;
  std::string dir_;
  std::string path_;  // the file's folder and name, for messages (the file itself is unlinked)
  int fd_ = -1;
  bool try_direct_ = true;
  std::atomic<bool> direct_ = false;  // the file is open with O_DIRECT
  // Block-aligned buffers that direct I/O goes through (records are copied in and out): one
  // for reading (the caller's thread), one for the writer thread.
  struct Staging {
    uint8_t* Get(int64_t bytes);
    std::unique_ptr<uint8_t, decltype(&std::free)> buffer{nullptr, &std::free};
    int64_t size = 0;
  };
  mutable Staging read_staging_;
  Staging write_staging_;
  int64_t file_end_ = 0;
  std::map<int64_t, std::vector<int64_t>> free_extents_;  // by length: offsets to reuse

  std::vector<int64_t> bytes_;     // per client: its spillable state in memory
  std::vector<int64_t> last_use_;  // per client: the PrepareRound call that last had it, or -1
  std::vector<Extent> spilled_;    // per client
  // Records taken out of memory: queued (before StartWriting), then being written while
  // writing_ is valid. The writer only reads them; pending_slot_[client] is the index of a
  // client's record, or -1.
  std::vector<PendingWrite> pending_;
  std::vector<int32_t> pending_slot_;
  std::future<WriteResult> writing_;
  // The cohort's spilled clients being read back, in the order the round trains them; the
  // reader publishes how many are done (or the error that stopped it) under read_mutex_.
  struct PendingRead {
    uint32_t client = 0;
    Extent extent;
  };
  std::vector<PendingRead> restoring_;
  std::vector<int32_t> restoring_slot_;  // per client: its index in restoring_, or -1
  std::future<void> reading_;
  std::mutex read_mutex_;
  std::condition_variable read_progress_;
  size_t read_done_ = 0;
  std::chrono::steady_clock::duration
      read_waited_{};  // by the round's clients, for --log-level debug
  absl::Status read_status_;
  // (client, call) in the order of use; an entry is stale once the client was used again.
  std::deque<std::pair<uint32_t, int64_t>> use_order_;
  std::vector<uint32_t> last_cohort_;
  // Residual buffers of clients whose state was written, lent to the round's clients that need
  // one.
  std::vector<std::vector<float>> spare_;
  int64_t calls_ = 0;
  int64_t resident_bytes_ = 0;
  int64_t spilled_bytes_ = 0;
};

}  // namespace tributary

#endif  // TRIBUTARY_RUN_CLIENT_STATE_SPILL_H_
