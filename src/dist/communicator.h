// Communicator: the processes one simulation runs on. `mpirun -n R tributary simulate` makes R
// ranks that talk over MPI (dist/mpi_communicator.cc); a run started without mpirun is one rank.
// Every call is a collective: each rank makes the same calls in the same order.
//
// Thread-safety: only the thread that joined may call it (MPI_THREAD_FUNNELED).
#ifndef TRIBUTARY_DIST_COMMUNICATOR_H_
#define TRIBUTARY_DIST_COMMUNICATOR_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace tributary {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Every other rank's `mine`: (*others)[r] holds rank r's bytes, (*others)[rank()] is left
  // empty. The vectors are reused (their capacity kept), so that a round's buffers of hundreds
  // of megabytes do not come back as fresh pages every round.
  virtual absl::Status AllGather(std::span<const uint8_t> mine,
                                 std::vector<std::vector<uint8_t>>* others) = 0;
  // Whether every rank passed `ok`.
  virtual absl::StatusOr<bool> AllOk(bool ok) = 0;
  // Ends every rank's process with `exit_code`: after one rank failed, the others would wait in
  // their next collective forever.
  [[noreturn]] virtual void Abort(int exit_code) = 0;
};

// The only rank of a run started without mpirun.
std::unique_ptr<Communicator> SingleProcess();

// Whether an MPI launcher (mpirun, mpiexec, srun) started this process.
bool LaunchedByMpi();

// Joins the job's ranks over MPI when LaunchedByMpi(), otherwise SingleProcess(). Fails when an
// MPI launcher started a build without MPI. Call before starting threads that use MPI; once per
// process (MPI cannot be initialized twice).
absl::StatusOr<std::unique_ptr<Communicator>> JoinRanks();

}  // namespace tributary

#endif  // TRIBUTARY_DIST_COMMUNICATOR_H_
