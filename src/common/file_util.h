// Small file helpers whose errors name the file and the OS reason.
#ifndef TRIBUTARY_COMMON_FILE_UTIL_H_
#define TRIBUTARY_COMMON_FILE_UTIL_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tributary {

absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `contents` to `path` through a temporary file and a rename, so a reader (or a crash)
// never sees a half-written file; the file and its folder are fsynced before it returns, so the
// new contents survive a power cut.
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents);

// As WriteFileAtomically, but the file it replaces is kept at PreviousVersionPath(path) (until
// the next replacement): if the newest is ever found corrupt, the one before is still there.
absl::Status ReplaceFileKeepingPrevious(const std::string& path, std::string_view contents);
std::string PreviousVersionPath(const std::string& path);
// The last step of ReplaceFileKeepingPrevious, for a file written (and fsynced) at `temp`
// otherwise: `path` moves to PreviousVersionPath(path), `temp` to `path`.
absl::Status CommitKeepingPrevious(const std::string& temp, const std::string& path);

}  // namespace tributary

#endif  // TRIBUTARY_COMMON_FILE_UTIL_H_
