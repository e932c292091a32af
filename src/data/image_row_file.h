// Images of a fixed size read on demand from an uncompressed file (the verified inflated copy of
// an IDX file, data/decompressed_cache.h), so a process keeps its examples in the page cache,
// which every process of the machine shares and the kernel can reclaim, instead of its heap:
// a deployed Fashion-MNIST client's 15,000 images are 11.2 MiB it no longer holds.
//
// Thread-safety: immutable after Open; Read may be called from any thread (pread).
#ifndef TRIBUTARY_DATA_IMAGE_ROW_FILE_H_
#define TRIBUTARY_DATA_IMAGE_ROW_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tributary {

class ImageRowFile {
 public:
  // Example i is the `rows[i]`-th image of `image_bytes` bytes stored back to back from byte
  // `first_image_offset` of the file at `path`, which must hold `images_in_file` of them.
  static absl::StatusOr<std::shared_ptr<const ImageRowFile>> Open(const std::string& path,
                                                                  size_t first_image_offset,
                                                                  size_t image_bytes,
                                                                  size_t images_in_file,
                                                                  std::vector<uint32_t> rows);
  ~ImageRowFile();
  ImageRowFile(const ImageRowFile&) = delete;
  ImageRowFile& operator=(const ImageRowFile&) = delete;

  size_t size() const { return rows_.size(); }
  size_t image_bytes() const { return image_bytes_; }

  // Copies example `example`'s pixels into `out` (image_bytes() long). A failed or short read
  // (the file shrank or went away under the run) is an error, never a partly filled image.
  absl::Status Read(size_t example, std::span<uint8_t> out) const;

  // The examples at `picked` (positions into this file's examples), sharing the open file.
  absl::StatusOr<std::shared_ptr<const ImageRowFile>> Subset(
      std::span<const uint32_t> picked) const;

 private:
  struct OpenFile;
  ImageRowFile(std::shared_ptr<const OpenFile> file, size_t first_image_offset, size_t image_bytes,
               std::vector<uint32_t> rows);

  std::shared_ptr<const OpenFile> file_;
  size_t first_image_offset_;
  size_t image_bytes_;
  std::vector<uint32_t> rows_;
};

}  // namespace tributary

#endif  // TRIBUTARY_DATA_IMAGE_ROW_FILE_H_
