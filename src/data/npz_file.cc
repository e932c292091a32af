#include "data/npz_file.h"

#include <zip.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_util.h"

namespace tributary {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kChunkBytes = 1 << 20;

// The text of `key`'s value in the header dict, e.g. "'<f4'" or "(3, 4)".
absl::string_view DictValue(absl::string_view dict, absl::string_view key) {
  const size_t at = dict.find(absl::StrCat("'", key, "'"));
  if (at == absl::string_view::npos) return {};
  size_t start = dict.find(':', at);
  if (start == absl::string_view::npos) return {};
  ++start;
  while (start < dict.size() && dict[start] == ' ') ++start;
  size_t end = start;
  if (start < dict.size() && dict[start] == '(') {
    end = dict.find(')', start);
    return end == absl::string_view::npos ? absl::string_view{}
                                          : dict.substr(start, end - start + 1);
  }
  end = dict.find_first_of(",}", start);
  return dict.substr(start, end == absl::string_view::npos ? absl::string_view::npos : end - start);
}

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// One value of the array's dtype as a double (exact for every integer below 2^53).
double ValueAt(const NpyHeader& h, const uint8_t* p) {
  switch (h.kind) {
    case 'f':
      return h.item_size == 4 ? Load<float>(p) : Load<double>(p);
    case 'b':
      return *p != 0;
    case 'u':
      switch (h.item_size) {
        case 1:
          return *p;
        case 2:
          return Load<uint16_t>(p);
        case 4:
          return Load<uint32_t>(p);
        default:
          return static_cast<double>(Load<uint64_t>(p));
      }
    default:
      switch (h.item_size) {
        case 1:
          return Load<int8_t>(p);
        case 2:
          return Load<int16_t>(p);
        case 4:
          return Load<int32_t>(p);
        default:
          return static_cast<double>(Load<int64_t>(p));
      }
  }
}

}  // namespace

int64_t NpyHeader::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

absl::StatusOr<NpyHeader> ParseNpyHeader(std::span<const uint8_t> bytes) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) {
    return absl::InvalidArgumentError("not a .npy array (no \\x93NUMPY magic)");
  }
  const int major = bytes[6];
  size_t length = 0, prefix = 0;
  if (major == 1) {
    length = bytes[8] | (bytes[9] << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return absl::InvalidArgumentError("truncated .npy header");
    length = Load<uint32_t>(bytes.data() + 8);
    prefix = 12;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unsupported .npy version ", major));
  }
  if (length > (1 << 20) || bytes.size() < prefix + length) {
    return absl::InvalidArgumentError("truncated .npy header");
  }
  const absl::string_view dict(reinterpret_cast<const char*>(bytes.data()) + prefix, length);
  NpyHeader h;
  h.header_bytes = prefix + length;
  absl::string_view descr = DictValue(dict, "descr");
  descr = absl::StripSuffix(absl::StripPrefix(descr, "'"), "'");
  if (descr.size() < 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("dtype '", descr, "' is not supported (need numbers, e.g. float32, int64)"));
  }
  if (descr[0] == '>') {
    return absl::InvalidArgumentError("big-endian arrays are not supported; use astype('<f4')");
  }
  h.kind = descr[1];
  int size = 0;
  if ((descr[0] != '<' && descr[0] != '|' && descr[0] != '=') ||
      !absl::SimpleAtoi(descr.substr(2), &size) ||
      !((h.kind == 'f' && (size == 4 || size == 8)) ||
        ((h.kind == 'i' || h.kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
        (h.kind == 'b' && size == 1))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dtype '", descr, "' is not supported (need bool, integers, float32 or float64)"));
  }
  h.item_size = size;
  if (DictValue(dict, "fortran_order") != "False") {
    return absl::InvalidArgumentError(
        "Fortran-ordered arrays are not supported; save numpy.ascontiguousarray(a)");
  }
  absl::string_view shape = DictValue(dict, "shape");
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')') {
    return absl::InvalidArgumentError("the .npy header has no shape");
  }
  for (absl::string_view part : absl::StrSplit(shape.substr(1, shape.size() - 2), ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) continue;
    int64_t d = 0;
    if (!absl::SimpleAtoi(part, &d) || d < 0 || d > (int64_t{1} << 40)) {
      return absl::InvalidArgumentError(absl::StrCat("bad dimension '", part, "' in the shape"));
    }
    h.shape.push_back(d);
  }
  if (h.num_elements() > (int64_t{1} << 40)) {
    return absl::InvalidArgumentError("array too large");
  }
  return h;
}

struct NpzFile::Archive {
  zip_t* zip = nullptr;
  ~Archive() {
    if (zip != nullptr) zip_discard(zip);
  }
};

NpzFile::NpzFile(std::string path, std::unique_ptr<Archive> archive)
    : path_(std::move(path)), archive_(std::move(archive)) {}
NpzFile::NpzFile(NpzFile&&) noexcept = default;
NpzFile& NpzFile::operator=(NpzFile&&) noexcept = default;
NpzFile::~NpzFile() = default;

absl::StatusOr<NpzFile> NpzFile::Open(const std::string& path) {
  int code = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (zip == nullptr) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    return code == ZIP_ER_NOENT || code == ZIP_ER_OPEN
               ? absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", message))
               : absl::InvalidArgumentError(
                     absl::StrCat(path, " is not a readable .npz (zip) archive: ", message));
  }
  auto archive = std::make_unique<Archive>();
  archive->zip = zip;
  return NpzFile(path, std::move(archive));
}

std::vector<std::string> NpzFile::names() const {
  std::vector<std::string> names;
  const zip_int64_t n = zip_get_num_entries(archive_->zip, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    absl::string_view name = zip_get_name(archive_->zip, i, 0);
    if (absl::ConsumeSuffix(&name, ".npy")) names.emplace_back(name);
  }
  return names;
}

bool NpzFile::has(const std::string& name) const {
  return zip_name_locate(archive_->zip, (name + ".npy").c_str(), 0) >= 0;
}

namespace {

// An open archive entry, closed on scope exit.
struct Entry {
  zip_file_t* file = nullptr;
  zip_uint64_t size = 0;
  ~Entry() {
    if (file != nullptr) zip_fclose(file);
  }
};

absl::Status OpenEntry(zip_t* zip, const std::string& path, const std::string& name, Entry& entry) {
  const std::string member = name + ".npy";
  zip_stat_t stat;
  if (zip_stat(zip, member.c_str(), 0, &stat) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, " has no array '", name, "'"));
  }
  entry.size = stat.size;
  entry.file = zip_fopen(zip, member.c_str(), 0);
  if (entry.file == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot read array '", name, "': ", zip_strerror(zip)));
  }
  return absl::OkStatus();
}

// Reads exactly `n` bytes of the entry.
absl::Status ReadExactly(Entry& entry, uint8_t* out, size_t n, const std::string& what) {
  size_t done = 0;
  while (done < n) {
    const zip_int64_t got = zip_fread(entry.file, out + done, n - done);
    if (got <= 0) {
      return absl::DataLossError(
          absl::StrCat(what, " is truncated or corrupt (",
                       got < 0 ? zip_file_strerror(entry.file) : "ends early", ")"));
    }
    done += static_cast<size_t>(got);
  }
  return absl::OkStatus();
}

absl::StatusOr<NpyHeader> ReadHeader(Entry& entry, const std::string& what) {
  std::vector<uint8_t> head(12);
  const size_t first = std::min<zip_uint64_t>(12, entry.size);
  TRIB_RETURN_IF_ERROR(ReadExactly(entry, head.data(), first, what));
  head.resize(first);
  absl::StatusOr<NpyHeader> header = ParseNpyHeader(head);
  if (!header.ok() && header.status().message() == "truncated .npy header" && first >= 10) {
    // The rest of the header: its length is in the prefix.
    const size_t length =
        head[6] == 1 ? (head[8] | (head[9] << 8)) + 10 : Load<uint32_t>(head.data() + 8) + 12;
    if (length > entry.size || length > (1 << 20)) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": truncated .npy header"));
    }
    head.resize(length);
    TRIB_RETURN_IF_ERROR(ReadExactly(entry, head.data() + first, length - first, what));
    header = ParseNpyHeader(head);
  }
  if (!header.ok())
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", header.status().message()));
  return header;
}

}  // namespace

absl::StatusOr<NpyHeader> NpzFile::Header(const std::string& name) const {
  Entry entry;
  TRIB_RETURN_IF_ERROR(OpenEntry(archive_->zip, path_, name, entry));
  return ReadHeader(entry, absl::StrCat(path_, ":", name));
}

template <typename T>
absl::StatusOr<std::vector<T>> NpzFile::Read(const std::string& name) const {
  const std::string what = absl::StrCat(path_, ":", name);
  Entry entry;
  TRIB_RETURN_IF_ERROR(OpenEntry(archive_->zip, path_, name, entry));
  TRIB_ASSIGN_OR_RETURN(NpyHeader header, ReadHeader(entry, what));
  const uint64_t data_bytes = static_cast<uint64_t>(header.num_elements()) * header.item_size;
  if (header.header_bytes + data_bytes != entry.size) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": shape (", absl::StrJoin(header.shape, ", "), ") needs ", data_bytes,
                     " bytes of values but the entry holds ", entry.size - header.header_bytes));
  }
  std::vector<T> values(header.num_elements());
  std::vector<uint8_t> chunk;
  const size_t per_chunk = kChunkBytes / header.item_size;
  for (size_t start = 0; start < values.size(); start += per_chunk) {
    const size_t count = std::min(per_chunk, values.size() - start);
    chunk.resize(count * header.item_size);
    TRIB_RETURN_IF_ERROR(ReadExactly(entry, chunk.data(), chunk.size(), what));
    for (size_t i = 0; i < count; ++i) {
      const double v = ValueAt(header, chunk.data() + i * header.item_size);
      if constexpr (std::is_same_v<T, int64_t>) {
        if (v != std::floor(v) || !(std::abs(v) < 9.0e15)) {
          return absl::InvalidArgumentError(
              absl::StrCat(what, ": value ", v, " at ", start + i, " is not an integer"));
        }
      }
      values[start + i] = static_cast<T>(v);
    }
  }
  return values;
}

absl::StatusOr<std::vector<float>> NpzFile::ReadFloats(const std::string& name) const {
  return Read<float>(name);
}

absl::StatusOr<std::vector<int64_t>> NpzFile::ReadIntegers(const std::string& name) const {
  return Read<int64_t>(name);
}

}  // namespace tributary
