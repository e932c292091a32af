// run_state.json: whether the run in an output folder is running, finished or failed, so that a
// dashboard (or a person) can tell a run in progress from one that died.
//
// Thread-safety: RunStateFile is not thread-safe; ReadRunState is.
#ifndef TRIBUTARY_REPORT_RUN_STATE_H_
#define TRIBUTARY_REPORT_RUN_STATE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tributary {

enum class RunStatus { kRunning, kFinished, kFailed, kUnknown };
const char* RunStatusName(RunStatus status);

struct RunState {
  RunStatus status = RunStatus::kUnknown;
  std::string command;  // "simulate" or "server"
  int64_t pid = 0;
  std::string error;  // why a failed run failed
};

// Marks the folder's run as running at Start(), then finished (Finish) or failed (Fail, or the
// destructor when neither was called: an error return). A process killed outright leaves
// "running" with its pid: ReadRunState reports such a run as failed once the pid is gone.
class RunStateFile {
 public:
  RunStateFile(std::string out_dir, std::string command);
  ~RunStateFile();
  RunStateFile(const RunStateFile&) = delete;
  RunStateFile& operator=(const RunStateFile&) = delete;

  absl::Status Start();
  absl::Status Finish();
  absl::Status Fail(const std::string& error);

 private:
  absl::Status Write(RunStatus status, const std::string& error);
  std::string path_;
  std::string command_;
  bool ended_ = true;
};

// The folder's run_state.json; a folder without one (a run from before it existed) is kUnknown.
// A "running" state whose process no longer exists on this machine reads as kFailed.
absl::StatusOr<RunState> ReadRunState(const std::string& out_dir);

}  // namespace tributary

#endif  // TRIBUTARY_REPORT_RUN_STATE_H_
