#include "data/image_row_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace tributary {

struct ImageRowFile::OpenFile {
  ~OpenFile() { ::close(fd); }
  int fd = -1;
  std::string path;
};

ImageRowFile::ImageRowFile(std::shared_ptr<const OpenFile> file, size_t first_image_offset,
                           size_t image_bytes, std::vector<uint32_t> rows)
    : file_(std::move(file)),
      first_image_offset_(first_image_offset),
      image_bytes_(image_bytes),
      rows_(std::move(rows)) {}

ImageRowFile::~ImageRowFile() = default;

absl::StatusOr<std::shared_ptr<const ImageRowFile>> ImageRowFile::Open(const std::string& path,
                                                                       size_t first_image_offset,
                                                                       size_t image_bytes,
                                                                       size_t images_in_file,
                                                                       std::vector<uint32_t> rows) {
  if (image_bytes == 0) return absl::InvalidArgumentError("images of zero bytes");
  for (uint32_t row : rows) {
    if (row >= images_in_file) {
      return absl::OutOfRangeError(
          absl::StrCat("image ", row, " outside the ", images_in_file, " of ", path));
    }
  }
  auto file = std::make_shared<OpenFile>();
  file->path = path;
  file->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file->fd < 0) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  struct stat info;
  if (::fstat(file->fd, &info) != 0 ||
      static_cast<size_t>(info.st_size) < first_image_offset + images_in_file * image_bytes) {
    return absl::DataLossError(
        absl::StrCat(path, " is shorter than its ", images_in_file, " images"));
  }
  return std::shared_ptr<const ImageRowFile>(
      new ImageRowFile(std::move(file), first_image_offset, image_bytes, std::move(rows)));
}

absl::Status ImageRowFile::Read(size_t example, std::span<uint8_t> out) const {
  if (example >= rows_.size() || out.size() != image_bytes_) {
    return absl::OutOfRangeError(
        absl::StrCat("image ", example, " of ", rows_.size(), " read into ", out.size(), " bytes"));
  }
  const off_t start = static_cast<off_t>(first_image_offset_ + rows_[example] * image_bytes_);
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(file_->fd, out.data() + done, out.size() - done, start + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::DataLossError(absl::StrCat("reading image ", rows_[example], " of ", file_->path,
                                              ": ",
                                              n < 0 ? std::strerror(errno) : "the file ends"));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const ImageRowFile>> ImageRowFile::Subset(
    std::span<const uint32_t> picked) const {
  std::vector<uint32_t> rows;
  rows.reserve(picked.size());
  for (uint32_t i : picked) {
    if (i >= rows_.size()) {
      return absl::OutOfRangeError(absl::StrCat("example ", i, " of ", rows_.size()));
    }
    rows.push_back(rows_[i]);
  }
  return std::shared_ptr<const ImageRowFile>(
      new ImageRowFile(file_, first_image_offset_, image_bytes_, std::move(rows)));
}

}  // namespace tributary
