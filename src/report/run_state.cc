#include "report/run_state.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "nlohmann/json.hpp"

namespace tributary {
namespace {

constexpr char kFileName[] = "/run_state.json";

bool ProcessExists(int64_t pid) {
  if (pid <= 0) return false;
  return kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

const char* RunStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kFinished:
      return "finished";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kUnknown:
      return "unknown";
  }
  return "unknown";
}

RunStateFile::RunStateFile(std::string out_dir, std::string command)
    : path_(std::move(out_dir) + kFileName), command_(std::move(command)) {}

RunStateFile::~RunStateFile() {
  if (!ended_) Write(RunStatus::kFailed, "the run stopped on an error").IgnoreError();
}

absl::Status RunStateFile::Start() {
  ended_ = false;
  return Write(RunStatus::kRunning, "");
}

absl::Status RunStateFile::Finish() {
  ended_ = true;
  return Write(RunStatus::kFinished, "");
}

absl::Status RunStateFile::Fail(const std::string& error) {
  ended_ = true;
  return Write(RunStatus::kFailed, error);
}

absl::Status RunStateFile::Write(RunStatus status, const std::string& error) {
  nlohmann::json state = {{"status", RunStatusName(status)},
                          {"command", command_},
                          {"pid", static_cast<int64_t>(getpid())}};
  if (!error.empty()) state["error"] = error;
  return WriteFileAtomically(path_, state.dump() + "\n");
}

absl::StatusOr<RunState> ReadRunState(const std::string& out_dir) {
  const std::string path = out_dir + kFileName;
  RunState state;
  std::error_code missing;
  if (!std::filesystem::exists(path, missing)) return state;
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  const nlohmann::json json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("status") || !json["status"].is_string()) {
    return absl::DataLossError(
        absl::StrCat(path, ": not a run state (expected {\"status\": ...})"));
  }
  const std::string status = json["status"];
  if (status == "running") {
    state.status = RunStatus::kRunning;
  } else if (status == "finished") {
    state.status = RunStatus::kFinished;
  } else if (status == "failed") {
    state.status = RunStatus::kFailed;
  } else {
    return absl::DataLossError(absl::StrCat(path, ": unknown status \"", status, "\""));
  }
  if (json.contains("command") && json["command"].is_string()) state.command = json["command"];
  if (json.contains("pid") && json["pid"].is_number_integer()) state.pid = json["pid"];
  if (json.contains("error") && json["error"].is_string()) state.error = json["error"];
  if (state.status == RunStatus::kRunning && !ProcessExists(state.pid)) {
    state.status = RunStatus::kFailed;
    state.error = absl::StrCat("process ", state.pid, " ended without finishing the run");
  }
  return state;
}

}  // namespace tributary
