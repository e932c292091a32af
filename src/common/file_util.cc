#include "common/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace tributary {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("error while reading ", path));
  return std::move(buffer).str();
}

namespace {

// Flushes `fd`'s data (and the file's size) to the device.
bool SyncDescriptor(int fd) { return ::fsync(fd) == 0; }

// Makes a rename or a new file in `path`'s folder survive a power cut.
absl::Status SyncParentDirectory(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string folder = parent.empty() ? "." : parent.string();
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    return absl::DataLossError(absl::StrCat("cannot open ", folder, ": ", std::strerror(errno)));
  }
  const bool synced = SyncDescriptor(fd);
  ::close(fd);
  if (!synced) {
    return absl::DataLossError(absl::StrCat("cannot sync ", folder, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// Writes `contents` to `temp` and flushes it to the device.
absl::Status WriteDurably(const std::string& temp, std::string_view contents) {
  std::FILE* file = std::fopen(temp.c_str(), "wb");
  if (file == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", temp, ": ", std::strerror(errno)));
  }
  const bool written = std::fwrite(contents.data(), 1, contents.size(), file) == contents.size();
  const bool flushed = std::fflush(file) == 0 && SyncDescriptor(fileno(file));
  const bool closed = std::fclose(file) == 0;
  if (!written || !flushed || !closed) {
    std::remove(temp.c_str());
    return absl::DataLossError(absl::StrCat("cannot write ", temp, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status Rename(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    return absl::DataLossError(
        absl::StrCat("cannot rename ", from, " to ", to, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  const std::string temp = path + ".tmp";
  TRIB_RETURN_IF_ERROR(WriteDurably(temp, contents));
  if (absl::Status renamed = Rename(temp, path); !renamed.ok()) {
    std::remove(temp.c_str());
    return renamed;
  }
  return SyncParentDirectory(path);
}

absl::Status ReplaceFileKeepingPrevious(const std::string& path, std::string_view contents) {
  const std::string temp = path + ".tmp";
  TRIB_RETURN_IF_ERROR(WriteDurably(temp, contents));
  return CommitKeepingPrevious(temp, path);
}

absl::Status CommitKeepingPrevious(const std::string& temp, const std::string& path) {
  // From here on, a crash leaves the old file at `path` or at PreviousVersionPath(path), and the
  // new one complete at `temp` or at `path`.
  if (std::filesystem::exists(path)) {
    if (absl::Status kept = Rename(path, PreviousVersionPath(path)); !kept.ok()) {
      std::remove(temp.c_str());
      return kept;
    }
  }
  TRIB_RETURN_IF_ERROR(Rename(temp, path));
  return SyncParentDirectory(path);
}

std::string PreviousVersionPath(const std::string& path) { return path + ".prev"; }

}  // namespace tributary
