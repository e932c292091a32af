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

// Block packing for encoders that compute one small code per value: packs n codes (each below
// 2^bits, bits <= 8) into PackedBytes(n, bits) bytes, in the same LSB-first layout as BitWriter.
// Fast paths for 1, 2, 4 and 8 bits, which pack whole bytes without a bit buffer.
template <int kBits>
void PackCodesWholeBytes(const uint8_t* codes, size_t n, uint8_t* out) {
  constexpr int kPerByte = 8 / kBits;
  const size_t full = n / kPerByte;
  for (size_t j = 0; j < full; ++j) {
    uint32_t byte = 0;
    for (int t = 0; t < kPerByte; ++t) byte |= uint32_t{codes[j * kPerByte + t]} << (t * kBits);
    out[j] = static_cast<uint8_t>(byte);
  }
  if (full * kPerByte < n) {
    uint32_t byte = 0;
    for (size_t i = full * kPerByte; i < n; ++i)
      byte |= uint32_t{codes[i]} << ((i % kPerByte) * kBits);
    out[full] = static_cast<uint8_t>(byte);
  }
}

inline void PackCodes(const uint8_t* codes, size_t n, int bits, uint8_t* out) {
  switch (bits) {
    case 1:
      return PackCodesWholeBytes<1>(codes, n, out);
    case 2:
      return PackCodesWholeBytes<2>(codes, n, out);
    case 4:
      return PackCodesWholeBytes<4>(codes, n, out);
    case 8:
      std::memcpy(out, codes, n);
      return;
    default: {
      BitWriter writer(out);
      for (size_t i = 0; i < n; ++i) writer.Put(codes[i], bits);
      writer.Flush();
    }
  }
}

// The inverse of PackCodes: reads PackedBytes(n, bits) bytes from `in` into n codes.
template <int kBits>
void UnpackCodesWholeBytes(const uint8_t* in, size_t n, uint8_t* codes) {
  constexpr int kPerByte = 8 / kBits;
  constexpr uint32_t kMask = (1u << kBits) - 1;
  for (size_t i = 0; i < n; ++i) {
    codes[i] = static_cast<uint8_t>((in[i / kPerByte] >> ((i % kPerByte) * kBits)) & kMask);
  }
}

inline void UnpackCodes(const uint8_t* in, size_t n, int bits, uint8_t* codes) {
  switch (bits) {
    case 1:
      return UnpackCodesWholeBytes<1>(in, n, codes);
    case 2:
      return UnpackCodesWholeBytes<2>(in, n, codes);
    case 4:
      return UnpackCodesWholeBytes<4>(in, n, codes);
    case 8:
      std::memcpy(codes, in, n);
      return;
    default: {
      BitReader reader(std::span<const uint8_t>(in, PackedBytes(n, bits)));
      for (size_t i = 0; i < n; ++i) codes[i] = static_cast<uint8_t>(reader.Get(bits));
    }
  }
}

// Values per block in block-coded loops: a multiple of 8, so every block starts on a byte.
constexpr size_t kCodeBlock = 256;

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_BIT_PACKING_H_
