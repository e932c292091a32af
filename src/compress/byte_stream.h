// Little-endian byte encoding for payloads. ByteReader checks every read against the end of
// the buffer: malformed input becomes an error, never an out-of-bounds access.
#ifndef TRIBUTARY_COMPRESS_BYTE_STREAM_H_
#define TRIBUTARY_COMPRESS_BYTE_STREAM_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tributary {

// Values are copied to and from the wire in host byte order, which must be the wire's.
static_assert(std::endian::native == std::endian::little, "payloads are little-endian");

class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>* out) : out_(out) {}

  template <typename T>
  void Put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const size_t at = out_->size();
    out_->resize(at + sizeof(T));
    std::memcpy(out_->data() + at, &value, sizeof(T));
  }
  // LEB128: 7 bits per byte, high bit set on all but the last byte.
  void PutVarint(uint64_t value);
  void PutBytes(std::span<const uint8_t> bytes);
  // Reserves `n` bytes at the end and returns a pointer to them (valid until the next write).
  uint8_t* Extend(size_t n);
  size_t size() const { return out_->size(); }

 private:
  std::vector<uint8_t>* out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> in) : in_(in) {}

  template <typename T>
  absl::StatusOr<T> Get() {
    static_assert(std::is_trivially_copyable_v<T>);
    if (remaining() < sizeof(T)) return Truncated(sizeof(T));
    T value;
    std::memcpy(&value, in_.data() + position_, sizeof(T));
    position_ += sizeof(T);
    return value;
  }
  absl::StatusOr<uint64_t> GetVarint();
  // A float that must be finite and >= 0 (a norm or scale); errors name `what`.
  absl::StatusOr<float> GetScale(const char* what);
  // The next `n` bytes, without copying.
  absl::StatusOr<std::span<const uint8_t>> GetBytes(size_t n);

  size_t remaining() const { return in_.size() - position_; }
  size_t position() const { return position_; }

 private:
  absl::Status Truncated(size_t wanted) const;

  std::span<const uint8_t> in_;
  size_t position_ = 0;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_BYTE_STREAM_H_
