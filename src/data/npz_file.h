// Arrays from a numpy .npz archive (numpy.savez or savez_compressed): a zip of .npy files, read
// through libzip. Values are converted to float32 or int64 while they stream out of the archive,
// so loading needs the destination array and one read buffer, not a copy of the file.
#ifndef TRIBUTARY_DATA_NPZ_FILE_H_
#define TRIBUTARY_DATA_NPZ_FILE_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tributary {

// A .npy header: the dtype ('f' float, 'i' signed, 'u' unsigned, 'b' bool) and its size in
// bytes, and the shape. Only little-endian, C-ordered, non-object arrays are accepted.
struct NpyHeader {
  char kind = 'f';
  int item_size = 4;
  std::vector<int64_t> shape;
  size_t header_bytes = 0;  // where the values start
  int64_t num_elements() const;
};

// Parses the header at the start of a .npy file; `bytes` must hold at least the whole header.
absl::StatusOr<NpyHeader> ParseNpyHeader(std::span<const uint8_t> bytes);

class NpzFile {
 public:
  static absl::StatusOr<NpzFile> Open(const std::string& path);
  NpzFile(NpzFile&&) noexcept;
  NpzFile& operator=(NpzFile&&) noexcept;
  ~NpzFile();

  // Array names, without ".npy".
  std::vector<std::string> names() const;
  bool has(const std::string& name) const;
  absl::StatusOr<NpyHeader> Header(const std::string& name) const;
  // The array's values converted to float32, or to int64 (integral values only).
  absl::StatusOr<std::vector<float>> ReadFloats(const std::string& name) const;
  absl::StatusOr<std::vector<int64_t>> ReadIntegers(const std::string& name) const;

 private:
  struct Archive;
  NpzFile(std::string path, std::unique_ptr<Archive> archive);
  template <typename T>
  absl::StatusOr<std::vector<T>> Read(const std::string& name) const;

  std::string path_;
  std::unique_ptr<Archive> archive_;
};

}  // namespace tributary

#endif  // TRIBUTARY_DATA_NPZ_FILE_H_
