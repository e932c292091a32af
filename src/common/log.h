// The one logging sink of library code: modules below cli/ report through these calls, never
// through printf. The front end configures it once (tributary --log-level, --log-file, --quiet);
// by default info lines go to stdout and warnings and errors to stderr, each line flushed.
//
// Thread-safety: every function may be called from any thread; lines are never interleaved.
#ifndef TRIBUTARY_COMMON_LOG_H_
#define TRIBUTARY_COMMON_LOG_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"

namespace tributary {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

struct LogOptions {
  LogLevel level = LogLevel::kInfo;  // lines below it are dropped
  std::string file;                  // when set, every line is appended there instead
};

absl::Status ConfigureLogging(const LogOptions& options);
// "debug", "info", "warning", "error" or "off".
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name);

bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, std::string_view message);

template <typename... Args>
void LogDebug(const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (LogEnabled(LogLevel::kDebug)) LogLine(LogLevel::kDebug, absl::StrFormat(format, args...));
}
template <typename... Args>
void LogInfo(const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (LogEnabled(LogLevel::kInfo)) LogLine(LogLevel::kInfo, absl::StrFormat(format, args...));
}
// Prefixed "warning: ".
template <typename... Args>
void LogWarning(const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (LogEnabled(LogLevel::kWarning)) {
    LogLine(LogLevel::kWarning, absl::StrFormat(format, args...));
  }
}
template <typename... Args>
void LogError(const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (LogEnabled(LogLevel::kError)) LogLine(LogLevel::kError, absl::StrFormat(format, args...));
}

}  // namespace tributary

#endif  // TRIBUTARY_COMMON_LOG_H_
