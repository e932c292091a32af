// The Communicator over MPI, compiled when cmake finds MPI (TRIBUTARY_HAVE_MPI).
#include <mpi.h>

#include <algorithm>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/huge_pages.h"
#include "dist/communicator.h"

namespace tributary {
namespace {

// MPI counts are ints: larger buffers travel in pieces of this size.
constexpr size_t kPiece = size_t{1} << 30;

absl::Status MpiError(const char* call, int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return absl::InternalError(absl::StrCat(call, " failed: ", std::string(text, length)));
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiCommunicator() override { MPI_Finalize(); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  absl::Status AllGather(std::span<const uint8_t> mine,
                         std::vector<std::vector<uint8_t>>* others) override {
    const uint64_t my_size = mine.size();
    std::vector<uint64_t> sizes(size_);
    if (int code =
            MPI_Allgather(&my_size, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD);
        code != MPI_SUCCESS) {
      return MpiError("MPI_Allgather", code);
    }
    others->resize(size_);
    for (int root = 0; root < size_; ++root) {
      std::vector<uint8_t>& buffer = (*others)[root];
      uint8_t* data = nullptr;
      size_t size = 0;
      if (root == rank_) {
        buffer.clear();
        data = const_cast<uint8_t*>(mine.data());  // MPI_Bcast only reads the root's buffer
        size = mine.size();
      } else {
        if (buffer.capacity() < sizes[root]) {
          std::vector<uint8_t>().swap(buffer);
          buffer.reserve(sizes[root]);
          AdviseHugePages(buffer.data(), buffer.capacity());
        }
        buffer.resize(sizes[root]);
        data = buffer.data();
        size = buffer.size();
      }
      for (size_t at = 0; at < size; at += kPiece) {
        const int count = static_cast<int>(std::min(kPiece, size - at));
        if (int code = MPI_Bcast(data + at, count, MPI_BYTE, root, MPI_COMM_WORLD);
            code != MPI_SUCCESS) {
          return MpiError("MPI_Bcast", code);
        }
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<bool> AllOk(bool ok) override {
    int mine = ok ? 1 : 0, all = 0;
    if (int code = MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        code != MPI_SUCCESS) {
      return MpiError("MPI_Allreduce", code);
    }
    return all == 1;
  }

  [[noreturn]] void Abort(int exit_code) override {
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::exit(exit_code);  // MPI_Abort does not return; this only satisfies [[noreturn]]
  }

 private:
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Communicator>> JoinRanks() {
  if (!LaunchedByMpi()) return SingleProcess();
  int provided = 0;
  if (int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      code != MPI_SUCCESS) {
    return MpiError("MPI_Init_thread", code);
  }
  // Errors come back as codes (turned into statuses) instead of ending the job.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (provided < MPI_THREAD_FUNNELED) {
    MPI_Finalize();
    return absl::FailedPreconditionError(
        "the MPI library cannot be used from a process with other threads "
        "(MPI_THREAD_FUNNELED)");
  }
  return std::make_unique<MpiCommunicator>();
}

}  // namespace tributary
