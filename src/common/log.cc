#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_line.h"

namespace tributary {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_mutex;
FILE* g_file = nullptr;     // null: stdout and stderr
std::string g_status_line;  // shown at the bottom of the terminal; empty: none

// "\r", then erase to the end of the line.
void EraseStatusLineLocked() {
  if (g_status_line.empty()) return;
  std::fputs("\r\033[K", stdout);
  std::fflush(stdout);
}

}  // namespace

absl::Status ConfigureLogging(const LogOptions& options) {
  FILE* file = nullptr;
  if (!options.file.empty()) {
    file = std::fopen(options.file.c_str(), "a");
    if (file == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("cannot open log file ", options.file));
    }
  }
  std::lock_guard lock(g_mutex);
  if (g_file != nullptr) std::fclose(g_file);
  g_file = file;
  g_level = static_cast<int>(options.level);
  return absl::OkStatus();
}

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warning") return LogLevel::kWarning;
  if (name == "error") return LogLevel::kError;
  if (name == "off") return LogLevel::kOff;
  return absl::InvalidArgumentError(absl::StrCat("unknown log level '", std::string(name),
                                                 "' (debug, info, warning, error, off)"));
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

void LogLine(LogLevel level, std::string_view message) {
  std::lock_guard lock(g_mutex);
  FILE* out = g_file != nullptr ? g_file : level >= LogLevel::kWarning ? stderr : stdout;
  const char* prefix = level == LogLevel::kWarning ? "warning: "
                       : level == LogLevel::kError ? "error: "
                                                   : "";
  if (g_file == nullptr) EraseStatusLineLocked();
  std::fprintf(out, "%s%.*s\n", prefix, static_cast<int>(message.size()), message.data());
  std::fflush(out);
  if (g_file == nullptr && !g_status_line.empty()) {
    std::fputs(g_status_line.c_str(), stdout);
    std::fflush(stdout);
  }
}

bool StatusLineEnabled() {
  static const bool terminal = isatty(STDOUT_FILENO) == 1;
  std::lock_guard lock(g_mutex);
  return terminal && g_file == nullptr && LogEnabled(LogLevel::kInfo);
}

void ShowStatusLine(std::string_view text) {
  if (!StatusLineEnabled()) return;
  std::lock_guard lock(g_mutex);
  g_status_line = text.empty() ? std::string() : std::string(text);
  std::fputs("\r\033[K", stdout);
  std::fputs(g_status_line.c_str(), stdout);
  std::fflush(stdout);
}

void ClearStatusLine() {
  std::lock_guard lock(g_mutex);
  EraseStatusLineLocked();
  g_status_line.clear();
}

}  // namespace tributary
