// Fashion-MNIST from the IDX .gz files that Debian's dataset-fashion-mnist package installs.
// Kept as raw bytes (47 MB for the training split), or streamed image by image; the train module
// turns them into tensors.
#ifndef TRIBUTARY_DATA_FASHION_MNIST_H_
#define TRIBUTARY_DATA_FASHION_MNIST_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"

namespace tributary {

inline constexpr char kDefaultFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";

// Labelled grayscale images, row-major, one byte per pixel.
struct LabeledImages {
  int64_t rows = 0;
  int64_t cols = 0;
  int num_classes = 0;
  std::vector<uint8_t> pixels;  // size() * rows * cols
  std::vector<uint8_t> labels;  // each in [0, num_classes)

  size_t size() const { return labels.size(); }
  std::span<const uint8_t> image(size_t i) const {
    const size_t n = static_cast<size_t>(rows * cols);
    return std::span<const uint8_t>(pixels).subspan(i * n, n);
  }
};

enum class DatasetSplit { kTrain, kTest };

// Reads <dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz. Errors name the file and, when
// the files are missing, the setup command that installs them.
absl::StatusOr<LabeledImages> LoadFashionMnist(const std::string& dir, DatasetSplit split);

// The split's labels alone (60 kB for the training split), checked like LoadFashionMnist's.
absl::StatusOr<std::vector<uint8_t>> LoadFashionMnistLabels(const std::string& dir,
                                                            DatasetSplit split);

struct ImageShape {
  size_t count = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  // The verified decompressed copy the images were read from (data/decompressed_cache.h), with
  // the first image at this byte; empty when they were inflated from the gzip file itself.
  std::string uncompressed_path;
  size_t first_image_offset = 0;
};
// Streams the split's image file: on_open(shape) once its header is read, then visit(i, pixels)
// for the first `limit` images in file order, each a rows * cols buffer valid during the call,
// so a caller keeps what it needs (a client's own images, running statistics) without holding
// the split. The whole file is still read and checked. Returns the file's image count and size.
absl::StatusOr<ImageShape> ForEachFashionMnistImage(
    const std::string& dir, DatasetSplit split, size_t limit,
    absl::FunctionRef<void(const ImageShape&)> on_open,
    absl::FunctionRef<void(size_t, std::span<const uint8_t>)> visit);

// Decodes one IDX file's bytes (already decompressed), the payload taking over their storage.
// `expected_dims` is 3 for images and 1 for labels. Exposed for tests of malformed input.
absl::StatusOr<std::vector<uint8_t>> ParseIdx(std::vector<uint8_t> bytes, int expected_dims,
                                              std::vector<int64_t>* dims);

}  // namespace tributary

#endif  // TRIBUTARY_DATA_FASHION_MNIST_H_
