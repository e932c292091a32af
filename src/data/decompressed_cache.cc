#include "data/decompressed_cache.h"

#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_util.h"

namespace tributary {
namespace {

constexpr size_t kPiece = 1 << 20;
// Smaller files inflate in milliseconds: not worth a copy (the label files, test fixtures).
constexpr uint32_t kMinCachedBytes = 1 << 20;

// The gzip trailer: CRC-32 and length (mod 2^32) of the decompressed bytes.
struct Trailer {
  uint32_t crc = 0;
  uint32_t length = 0;
};

absl::StatusOr<Trailer> ReadTrailer(const std::string& gz_path) {
  std::ifstream in(gz_path, std::ios::binary | std::ios::ate);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", gz_path));
  const std::streamoff size = in.tellg();
  if (size < 18) return absl::InvalidArgumentError(absl::StrCat(gz_path, " is too short"));
  uint8_t bytes[8];
  in.seekg(size - 8);
  if (!in.read(reinterpret_cast<char*>(bytes), 8)) {
    return absl::DataLossError(absl::StrCat("cannot read ", gz_path));
  }
  const auto little = [&](int at) {
    return uint32_t{bytes[at]} | uint32_t{bytes[at + 1]} << 8 | uint32_t{bytes[at + 2]} << 16 |
           uint32_t{bytes[at + 3]} << 24;
  };
  return Trailer{.crc = little(0), .length = little(4)};
}

// Whether `path` holds bytes of the trailer's length and CRC.
bool Matches(const std::string& path, const Trailer& trailer) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::vector<char> piece(kPiece);
  uLong crc = crc32(0L, Z_NULL, 0);
  uint64_t length = 0;
  while (in) {
    in.read(piece.data(), piece.size());
    const std::streamsize n = in.gcount();
    crc = crc32(crc, reinterpret_cast<const Bytef*>(piece.data()), static_cast<uInt>(n));
    length += static_cast<uint64_t>(n);
  }
  return in.eof() && static_cast<uint32_t>(crc) == trailer.crc &&
         static_cast<uint32_t>(length) == trailer.length;
}

// Inflates `gz_path` into `out_path`.
absl::Status Inflate(const std::string& gz_path, const std::string& out_path) {
  gzFile in = gzopen(gz_path.c_str(), "rb");
  if (in == nullptr) return absl::NotFoundError(absl::StrCat("cannot open ", gz_path));
  gzbuffer(in, 1 << 17);
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  std::vector<char> piece(kPiece);
  int n = 0;
  while (out && (n = gzread(in, piece.data(), static_cast<unsigned>(piece.size()))) > 0) {
    out.write(piece.data(), n);
  }
  gzclose(in);
  out.close();
  if (n < 0) return absl::DataLossError(absl::StrCat(gz_path, " is not a valid gzip file"));
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", out_path));
  return absl::OkStatus();
}

}  // namespace

std::string DecompressedCacheDir() {
  if (const char* dir = std::getenv("TRIBUTARY_CACHE_DIR"); dir != nullptr && *dir != '\0') {
    return std::string(dir) == "off" ? "" : dir;
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return absl::StrCat(xdg, "/tributary");
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return absl::StrCat(home, "/.cache/tributary");
  }
  return "";
}

absl::StatusOr<std::string> DecompressedCopy(const std::string& gz_path) {
  const std::string dir = DecompressedCacheDir();
  if (dir.empty()) return absl::UnavailableError("no cache folder");
  TRIB_ASSIGN_OR_RETURN(const Trailer trailer, ReadTrailer(gz_path));
  if (trailer.length < kMinCachedBytes) return absl::UnavailableError("small enough to inflate");
  std::string name = std::filesystem::path(gz_path).filename().string();
  if (name.size() > 3 && name.ends_with(".gz")) name.resize(name.size() - 3);
  const std::string path = absl::StrFormat("%s/%s-%08x-%u", dir, name, trailer.crc, trailer.length);
  if (Matches(path, trailer)) return path;
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error)
    return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  // Written under a name of its own, then renamed: processes (and threads) starting together
  // each write their own copy and the last rename wins, with the same bytes.
  const std::string partial = absl::StrCat(
      path, ".partial-", getpid(), "-", std::hash<std::thread::id>{}(std::this_thread::get_id()));
  absl::Status made = Inflate(gz_path, partial);
  if (made.ok() && !Matches(partial, trailer)) {
    made = absl::DataLossError(absl::StrCat(gz_path, " does not match its own CRC"));
  }
  if (made.ok()) std::filesystem::rename(partial, path, error);
  if (!made.ok() || error) {
    std::filesystem::remove(partial, error);
    return made.ok() ? absl::UnavailableError(absl::StrCat("cannot write ", path)) : made;
  }
  return path;
}

}  // namespace tributary
