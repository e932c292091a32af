#include "data/fashion_mnist.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "data/decompressed_cache.h"

namespace tributary {
namespace {

constexpr int kFashionMnistClasses = 10;
// Fashion-MNIST decompressed is 47 MB; anything far larger is not an IDX file of this dataset.
constexpr size_t kMaxDecompressedBytes = size_t{1} << 30;

absl::Status MissingFileError(const std::string& path) {
  return absl::NotFoundError(absl::StrCat(
      path, " not found. Fashion-MNIST comes from the Debian package dataset-fashion-mnist: ",
      "run scripts/setup.sh (or apt-get install dataset-fashion-mnist), or set data.dir"));
}

// A gzip file read front to back in pieces of the caller's size.
class GzipReader {
 public:
  // Reads the cached decompressed copy when there is one (zlib reads a file that is not gzip
  // as it is), else inflates `path`.
  static absl::StatusOr<std::unique_ptr<GzipReader>> Open(const std::string& path) {
    if (!std::filesystem::exists(path)) return MissingFileError(path);
    absl::StatusOr<std::string> copy = DecompressedCopy(path);
    gzFile file = gzopen(copy.ok() ? copy->c_str() : path.c_str(), "rb");
    if (file == nullptr) return absl::PermissionDeniedError(absl::StrCat("cannot open ", path));
    gzbuffer(file, 1 << 17);
    return std::unique_ptr<GzipReader>(new GzipReader(path, file, copy.ok() ? *copy : ""));
  }
  ~GzipReader() { gzclose(file_); }

  // Fills `out` whole; fewer bytes left in the file (or a corrupt stream) is an error.
  absl::Status ReadExactly(std::span<uint8_t> out) {
    size_t done = 0;
    while (done < out.size()) {
      const unsigned want = static_cast<unsigned>(std::min<size_t>(out.size() - done, 1 << 30));
      const int n = gzread(file_, out.data() + done, want);
      if (n < 0) return CorruptError();
      if (n == 0) return absl::DataLossError(absl::StrCat(path_, " ends early"));
      done += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }
  // Whether the stream is over (and was not corrupt on the way).
  absl::StatusOr<bool> AtEnd() {
    uint8_t probe;
    const int n = gzread(file_, &probe, 1);
    if (n < 0) return CorruptError();
    return n == 0;
  }
  // The verified decompressed copy being read, or empty when the gzip file itself is.
  const std::string& uncompressed_path() const { return uncompressed_path_; }

 private:
  GzipReader(std::string path, gzFile file, std::string uncompressed_path)
      : path_(std::move(path)), file_(file), uncompressed_path_(std::move(uncompressed_path)) {}
  absl::Status CorruptError() {
    int code = 0;
    return absl::DataLossError(
        absl::StrCat(path_, " is not a valid gzip file: ", gzerror(file_, &code)));
  }

  std::string path_;
  gzFile file_;
  std::string uncompressed_path_;
};

size_t IdxHeaderBytes(int dims) { return 4 + 4 * static_cast<size_t>(dims); }

uint32_t ReadBigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

absl::StatusOr<size_t> ParseIdxHeader(std::span<const uint8_t> bytes, int expected_dims,
                                      std::vector<int64_t>* dims) {
  if (bytes.size() < 4) return absl::DataLossError("IDX data shorter than its header");
  // Magic: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions.
  if (bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08) {
    return absl::DataLossError("not an unsigned-byte IDX file (bad magic number)");
  }
  if (bytes[3] != expected_dims) {
    return absl::DataLossError(
        absl::StrCat("IDX file has ", int{bytes[3]}, " dimensions, expected ", expected_dims));
  }
  if (bytes.size() < IdxHeaderBytes(expected_dims)) {
    return absl::DataLossError("IDX data shorter than its header");
  }
  dims->clear();
  size_t count = 1;
  for (int d = 0; d < expected_dims; ++d) {
    const uint32_t extent = ReadBigEndian32(&bytes[4 + 4 * d]);
    if (extent == 0 || extent > (1u << 28)) {
      return absl::DataLossError(absl::StrCat("IDX dimension ", d, " has invalid size ", extent));
    }
    dims->push_back(extent);
    count *= extent;
    if (count > kMaxDecompressedBytes) return absl::DataLossError("IDX payload too large");
  }
  return count;
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> ParseIdx(std::vector<uint8_t> bytes, int expected_dims,
                                              std::vector<int64_t>* dims) {
  TRIB_ASSIGN_OR_RETURN(const size_t count, ParseIdxHeader(bytes, expected_dims, dims));
  const size_t header = IdxHeaderBytes(expected_dims);
  if (bytes.size() != header + count) {
    return absl::DataLossError(
        absl::StrCat("IDX payload has ", bytes.size() - header, " bytes, header promises ", count));
  }
  bytes.erase(bytes.begin(), bytes.begin() + header);  // in place: no second copy of a split
  return bytes;
}

namespace {

std::string SplitPath(const std::string& dir, DatasetSplit split, const char* kind) {
  return absl::StrCat(dir, "/", split == DatasetSplit::kTrain ? "train" : "t10k", "-", kind,
                      "-ubyte.gz");
}

// Opens an IDX file and reads its header; the payload follows in the reader.
absl::StatusOr<std::unique_ptr<GzipReader>> OpenIdx(const std::string& path, int expected_dims,
                                                    std::vector<int64_t>* dims) {
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<GzipReader> reader, GzipReader::Open(path));
  std::vector<uint8_t> header(IdxHeaderBytes(expected_dims));
  TRIB_RETURN_IF_ERROR(reader->ReadExactly(header));  // its errors name the file
  absl::StatusOr<size_t> count = ParseIdxHeader(header, expected_dims, dims);
  if (!count.ok()) return absl::DataLossError(absl::StrCat(path, ": ", count.status().message()));
  return reader;
}

// Reads the rest of an opened IDX file: exactly `count` bytes, then the end of the stream.
absl::Status ReadPayloadEnd(GzipReader& reader, const std::string& path) {
  TRIB_ASSIGN_OR_RETURN(const bool at_end, reader.AtEnd());
  if (!at_end) return absl::DataLossError(absl::StrCat(path, ": more bytes than its header says"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> LoadFashionMnistLabels(const std::string& dir,
                                                            DatasetSplit split) {
  const std::string path = SplitPath(dir, split, "labels-idx1");
  std::vector<int64_t> dims;
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<GzipReader> reader, OpenIdx(path, 1, &dims));
  std::vector<uint8_t> labels(dims[0]);
  TRIB_RETURN_IF_ERROR(reader->ReadExactly(labels));
  TRIB_RETURN_IF_ERROR(ReadPayloadEnd(*reader, path));
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= kFashionMnistClasses) {
      return absl::DataLossError(absl::StrCat(path, ": label ", int{labels[i]}, " at index ", i,
                                              " is not a class in [0, 10)"));
    }
  }
  return labels;
}

absl::StatusOr<ImageShape> ForEachFashionMnistImage(
    const std::string& dir, DatasetSplit split, size_t limit,
    absl::FunctionRef<void(const ImageShape&)> on_open,
    absl::FunctionRef<void(size_t, std::span<const uint8_t>)> visit) {
  const std::string path = SplitPath(dir, split, "images-idx3");
  std::vector<int64_t> dims;
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<GzipReader> reader, OpenIdx(path, 3, &dims));
  const ImageShape shape{.count = static_cast<size_t>(dims[0]),
                         .rows = dims[1],
                         .cols = dims[2],
                         .uncompressed_path = reader->uncompressed_path(),
                         .first_image_offset = IdxHeaderBytes(3)};
  on_open(shape);
  std::vector<uint8_t> image(static_cast<size_t>(shape.rows * shape.cols));
  const size_t visited = std::min(limit, shape.count);
  for (size_t i = 0; i < visited; ++i) {
    TRIB_RETURN_IF_ERROR(reader->ReadExactly(image));
    visit(i, image);
  }
  // The images not visited are still read: a truncated or corrupt file fails alike either way.
  for (size_t i = visited; i < shape.count; ++i) {
    TRIB_RETURN_IF_ERROR(reader->ReadExactly(image));
  }
  TRIB_RETURN_IF_ERROR(ReadPayloadEnd(*reader, path));
  return shape;
}

absl::StatusOr<LabeledImages> LoadFashionMnist(const std::string& dir, DatasetSplit split) {
  LabeledImages data;
  data.num_classes = kFashionMnistClasses;
  TRIB_ASSIGN_OR_RETURN(data.labels, LoadFashionMnistLabels(dir, split));
  size_t image_bytes = 0;
  TRIB_ASSIGN_OR_RETURN(const ImageShape shape,
                        ForEachFashionMnistImage(
                            dir, split, SIZE_MAX,
                            [&](const ImageShape& opened) {
                              image_bytes = static_cast<size_t>(opened.rows * opened.cols);
                              data.pixels.resize(data.labels.size() * image_bytes);
                            },
                            [&](size_t i, std::span<const uint8_t> pixels) {
                              if (i < data.labels.size()) {
                                std::copy(pixels.begin(), pixels.end(),
                                          data.pixels.begin() + i * image_bytes);
                              }
                            }));
  if (shape.count != data.labels.size()) {
    return absl::DataLossError(
        absl::StrCat(SplitPath(dir, split, "images-idx3"), " has ", shape.count, " images but ",
                     SplitPath(dir, split, "labels-idx1"), " has ", data.labels.size(), " labels"));
  }
  data.rows = shape.rows;
  data.cols = shape.cols;
  return data;
}

}  // namespace tributary
