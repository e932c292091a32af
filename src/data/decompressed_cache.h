// A per-user cache of decompressed copies of gzip dataset files. Every process of a deployment
// (a server and each client) reads Fashion-MNIST whole to find its own images; inflating the
// 26 MB training file took a quarter of a client's start-up CPU (docs/performance.md). The copy is
// keyed by the gzip file's own trailer (CRC-32 and length of the decompressed bytes) and checked
// against that CRC whenever it is used, so a stale or damaged copy is never read: it is made again.
#ifndef TRIBUTARY_DATA_DECOMPRESSED_CACHE_H_
#define TRIBUTARY_DATA_DECOMPRESSED_CACHE_H_

#include <string>

#include "absl/status/statusor.h"

namespace tributary {

// The cache folder: $TRIBUTARY_CACHE_DIR, else $XDG_CACHE_HOME/tributary, else
// $HOME/.cache/tributary; empty when TRIBUTARY_CACHE_DIR is "off" or no home is known.
std::string DecompressedCacheDir();

// The path of a verified decompressed copy of `gz_path`, made first when missing or damaged.
// An error (no cache folder, not writable, a file that is not one gzip member, or under 1 MiB
// decompressed) leaves the caller to read `gz_path` itself.
absl::StatusOr<std::string> DecompressedCopy(const std::string& gz_path);

}  // namespace tributary

#endif  // TRIBUTARY_DATA_DECOMPRESSED_CACHE_H_
