#include "data/fashion_mnist.h"

#include <zlib.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace tributary {
namespace {

constexpr int kFashionMnistClasses = 10;
// Fashion-MNIST decompressed is 47 MB; anything far larger is not an IDX file of this dataset.
constexpr size_t kMaxDecompressedBytes = size_t{1} << 30;

absl::StatusOr<std::vector<uint8_t>> ReadGzip(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    return absl::NotFoundError(absl::StrCat(
        path, " not found. Fashion-MNIST comes from the Debian package dataset-fashion-mnist: ",
        "run scripts/setup.sh (or apt-get install dataset-fashion-mnist), or set data.dir"));
  }
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return absl::PermissionDeniedError(absl::StrCat("cannot open ", path));
  std::vector<uint8_t> out;
  uint8_t buffer[1 << 16];
  while (true) {
    const int n = gzread(file, buffer, sizeof(buffer));
    if (n < 0) {
      int code = 0;
      const std::string message = gzerror(file, &code);
      gzclose(file);
      return absl::DataLossError(absl::StrCat(path, " is not a valid gzip file: ", message));
    }
    if (n == 0) break;
    out.insert(out.end(), buffer, buffer + n);
    if (out.size() > kMaxDecompressedBytes) {
      gzclose(file);
      return absl::DataLossError(absl::StrCat(path, " decompresses to more than 1 GiB"));
    }
  }
  gzclose(file);
  return out;
}

uint32_t ReadBigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> ParseIdx(std::span<const uint8_t> bytes, int expected_dims,
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
  const size_t header = 4 + 4 * static_cast<size_t>(expected_dims);
  if (bytes.size() < header) return absl::DataLossError("IDX data shorter than its header");
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
  if (bytes.size() != header + count) {
    return absl::DataLossError(
        absl::StrCat("IDX payload has ", bytes.size() - header, " bytes, header promises ", count));
  }
  return std::vector<uint8_t>(bytes.begin() + header, bytes.end());
}

absl::StatusOr<LabeledImages> LoadFashionMnist(const std::string& dir, DatasetSplit split) {
  const std::string prefix = split == DatasetSplit::kTrain ? "train" : "t10k";
  const std::string images_path = absl::StrCat(dir, "/", prefix, "-images-idx3-ubyte.gz");
  const std::string labels_path = absl::StrCat(dir, "/", prefix, "-labels-idx1-ubyte.gz");

  TRIB_ASSIGN_OR_RETURN(std::vector<uint8_t> image_file, ReadGzip(images_path));
  TRIB_ASSIGN_OR_RETURN(std::vector<uint8_t> label_file, ReadGzip(labels_path));
  std::vector<int64_t> image_dims, label_dims;
  LabeledImages data;
  auto pixels = ParseIdx(image_file, 3, &image_dims);
  if (!pixels.ok())
    return absl::DataLossError(absl::StrCat(images_path, ": ", pixels.status().message()));
  auto labels = ParseIdx(label_file, 1, &label_dims);
  if (!labels.ok())
    return absl::DataLossError(absl::StrCat(labels_path, ": ", labels.status().message()));
  if (image_dims[0] != label_dims[0]) {
    return absl::DataLossError(absl::StrCat(images_path, " has ", image_dims[0], " images but ",
                                            labels_path, " has ", label_dims[0], " labels"));
  }
  data.rows = image_dims[1];
  data.cols = image_dims[2];
  data.num_classes = kFashionMnistClasses;
  data.pixels = std::move(pixels).value();
  data.labels = std::move(labels).value();
  for (size_t i = 0; i < data.labels.size(); ++i) {
    if (data.labels[i] >= kFashionMnistClasses) {
      return absl::DataLossError(absl::StrCat(labels_path, ": label ", int{data.labels[i]},
                                              " at index ", i, " is not a class in [0, 10)"));
    }
  }
  return data;
}

}  // namespace tributary
