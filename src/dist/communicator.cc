#include "dist/communicator.h"

#include <cstdlib>

#include "absl/status/status.h"

namespace tributary {
namespace {

class SingleProcessCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  absl::Status AllGather(std::span<const uint8_t> mine,
                         std::vector<std::vector<uint8_t>>* others) override {
    others->resize(1);
    (*others)[0].clear();
    return absl::OkStatus();
  }
  absl::StatusOr<bool> AllOk(bool ok) override { return ok; }
  [[noreturn]] void Abort(int exit_code) override { std::exit(exit_code); }
};

}  // namespace

std::unique_ptr<Communicator> SingleProcess() {
  return std::make_unique<SingleProcessCommunicator>();
}

bool LaunchedByMpi() {
  // Open MPI, PMIx (MPICH, Slurm's srun) and the older PMI each set one of these in every rank.
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"}) {
    if (std::getenv(variable) != nullptr) return true;
  }
  return false;
}

#ifndef TRIBUTARY_HAVE_MPI
absl::StatusOr<std::unique_ptr<Communicator>> JoinRanks() {
  if (LaunchedByMpi()) {
    return absl::FailedPreconditionError(
        "started by mpirun, but this build has no MPI: install libopenmpi-dev (scripts/setup.sh) "
        "and re-run cmake");
  }
  return SingleProcess();
}
#endif

}  // namespace tributary
