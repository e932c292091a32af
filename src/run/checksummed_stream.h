// Large checkpoint files written and read as a stream, so that what they hold (every simulated
// client's carried state) is never copied whole into memory: the writer appends to a temporary
// file and ends it with the XXH64 of everything before; Commit() fsyncs it and moves it over the
// old file, which is kept as the previous version (common/file_util.h). The reader checks that
// checksum over the whole file before it hands out a byte.
//
// Thread-safety: not thread-safe.
#ifndef TRIBUTARY_RUN_CHECKSUMMED_STREAM_H_
#define TRIBUTARY_RUN_CHECKSUMMED_STREAM_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <type_traits>

#include "absl/status/statusor.h"

struct XXH64_state_s;

namespace tributary {

class ChecksummedWriter {
 public:
  // Starts `path`.tmp; `path` is untouched until Commit().
  static absl::StatusOr<std::unique_ptr<ChecksummedWriter>> Create(const std::string& path);
  ~ChecksummedWriter();  // without Commit(), the temporary file is removed

  absl::Status Write(std::span<const uint8_t> bytes);
  template <typename T>
  absl::Status Put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    return Write({reinterpret_cast<const uint8_t*>(&value), sizeof(T)});
  }
  // Appends the checksum, flushes to the device, and replaces `path` (keeping the old one).
  absl::Status Commit();

 private:
  ChecksummedWriter() = default;
  std::string path_, temp_;
  std::FILE* file_ = nullptr;
  XXH64_state_s* hash_ = nullptr;
  bool failed_ = false;
};

class ChecksummedReader {
 public:
  // Opens `path` and verifies its checksum (one pass over the file).
  static absl::StatusOr<std::unique_ptr<ChecksummedReader>> Open(const std::string& path);
  ~ChecksummedReader();

  absl::Status Read(std::span<uint8_t> out);
  template <typename T>
  absl::StatusOr<T> Get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    absl::Status read = Read({reinterpret_cast<uint8_t*>(&value), sizeof(T)});
    if (!read.ok()) return read;
    return value;
  }
  // Bytes left before the checksum.
  int64_t remaining() const { return remaining_; }
  const std::string& path() const { return path_; }

 private:
  ChecksummedReader() = default;
  std::string path_;
  std::FILE* file_ = nullptr;
  int64_t remaining_ = 0;
};

}  // namespace tributary

#endif  // TRIBUTARY_RUN_CHECKSUMMED_STREAM_H_
