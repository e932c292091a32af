#include "run/checksummed_stream.h"

#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_util.h"

namespace tributary {

absl::StatusOr<std::unique_ptr<ChecksummedWriter>> ChecksummedWriter::Create(
    const std::string& path) {
  auto writer = std::unique_ptr<ChecksummedWriter>(new ChecksummedWriter());
  writer->path_ = path;
  writer->temp_ = path + ".tmp";
  writer->file_ = std::fopen(writer->temp_.c_str(), "wb");
  if (writer->file_ == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", writer->temp_, ": ", std::strerror(errno)));
  }
  writer->hash_ = XXH64_createState();
  XXH64_reset(writer->hash_, 0);
  return writer;
}

ChecksummedWriter::~ChecksummedWriter() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::remove(temp_.c_str());
  }
  if (hash_ != nullptr) XXH64_freeState(hash_);
}

absl::Status ChecksummedWriter::Write(std::span<const uint8_t> bytes) {
  if (file_ == nullptr || failed_) return absl::FailedPreconditionError("writer closed");
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    failed_ = true;
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot write ", temp_, ": ", std::strerror(errno)));
  }
  XXH64_update(hash_, bytes.data(), bytes.size());
  return absl::OkStatus();
}

absl::Status ChecksummedWriter::Commit() {
  const uint64_t checksum = XXH64_digest(hash_);
  TRIB_RETURN_IF_ERROR(Write({reinterpret_cast<const uint8_t*>(&checksum), sizeof(checksum)}));
  const bool flushed = std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!flushed || !closed) {
    std::remove(temp_.c_str());
    return absl::DataLossError(absl::StrCat("cannot write ", temp_, ": ", std::strerror(errno)));
  }
  return CommitKeepingPrevious(temp_, path_);
}

absl::StatusOr<std::unique_ptr<ChecksummedReader>> ChecksummedReader::Open(
    const std::string& path) {
  auto reader = std::unique_ptr<ChecksummedReader>(new ChecksummedReader());
  reader->path_ = path;
  reader->file_ = std::fopen(path.c_str(), "rb");
  if (reader->file_ == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::fseek(reader->file_, 0, SEEK_END);
  const int64_t size = std::ftell(reader->file_);
  std::rewind(reader->file_);
  if (size < static_cast<int64_t>(sizeof(uint64_t))) {
    return absl::DataLossError(absl::StrCat(path, " is truncated"));
  }
  reader->remaining_ = size - static_cast<int64_t>(sizeof(uint64_t));
  XXH64_state_t* hash = XXH64_createState();
  XXH64_reset(hash, 0);
  std::vector<uint8_t> buffer(1 << 20);
  int64_t left = reader->remaining_;
  while (left > 0) {
    const size_t n =
        std::fread(buffer.data(), 1, static_cast<size_t>(std::min<int64_t>(left, buffer.size())),
                   reader->file_);
    if (n == 0) break;
    XXH64_update(hash, buffer.data(), n);
    left -= static_cast<int64_t>(n);
  }
  const uint64_t computed = XXH64_digest(hash);
  XXH64_freeState(hash);
  uint64_t stored = 0;
  if (left != 0 || std::fread(&stored, sizeof(stored), 1, reader->file_) != 1 ||
      stored != computed) {
    return absl::DataLossError(absl::StrCat(path, ": checksum mismatch (truncated or corrupted)"));
  }
  std::rewind(reader->file_);
  return reader;
}

ChecksummedReader::~ChecksummedReader() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status ChecksummedReader::Read(std::span<uint8_t> out) {
  if (static_cast<int64_t>(out.size()) > remaining_ ||
      std::fread(out.data(), 1, out.size(), file_) != out.size()) {
    return absl::DataLossError(absl::StrCat(path_, " ends early"));
  }
  remaining_ -= static_cast<int64_t>(out.size());
  return absl::OkStatus();
}

}  // namespace tributary
