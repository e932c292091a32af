// Fixed-width codes (1 to 16 bits) packed LSB-first into bytes: ceil(count * bits / 8) bytes.
#ifndef TRIBUTARY_COMPRESS_BIT_PACKING_H_
#define TRIBUTARY_COMPRESS_BIT_PACKING_H_

#include <cstdint>
#include <cstring>
#include <span>

namespace tributary {

inline size_t PackedBytes(size_t count, int bits) { return (count * bits + 7) / 8; }

// Writes into a buffer of PackedBytes(count, bits) bytes.
class BitWriter {
 public:
  explicit BitWriter(uint8_t* out) : out_(out) {}
  // Requires: code < 2^bits, bits <= 16.
  void Put(uint32_t code, int bits) {
    buffer_ |= static_cast<uint64_t>(code) << filled_;
    filled_ += bits;
    if (filled_ >= 32) {
      std::memcpy(out_, &buffer_, 4);
      out_ += 4;
      buffer_ >>= 32;
      filled_ -= 32;
    }
  }
  // Writes the last partial bytes.
  void Flush() {
    while (filled_ > 0) {
      *out_++ = static_cast<uint8_t>(buffer_);
      buffer_ >>= 8;
      filled_ -= 8;
    }
  }

 private:
  uint8_t* out_;
  uint64_t buffer_ = 0;
  int filled_ = 0;
};

// Reads codes from a span that holds at least PackedBytes(count, bits) bytes.
class BitReader {
 public:
  explicit BitReader(std::span<const uint8_t> in) : in_(in) {}
  uint32_t Get(int bits) {
    while (filled_ < bits) {
      const uint64_t byte = position_ < in_.size() ? in_[position_] : 0;
      ++position_;
      buffer_ |= byte << filled_;
      filled_ += 8;
    }
    const uint32_t code = static_cast<uint32_t>(buffer_ & ((uint64_t{1} << bits) - 1));
    buffer_ >>= bits;
    filled_ -= bits;
    return code;
  }

 private:
  std::span<const uint8_t> in_;
  size_t position_ = 0;
  uint64_t buffer_ = 0;
  int filled_ = 0;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_BIT_PACKING_H_
