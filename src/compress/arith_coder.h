// Adaptive binary arithmetic coding: a range coder in the style of LZMA's (32-bit range, carries
// propagated through one cached byte) and the adaptive models the `arith` byte stage codes a
// payload body's fields with. Each model learns its probabilities from what it has coded so
// far, so nothing but the coded bits travels: no tables, which is what makes it beat zstd on
// bodies of a few hundred bytes.
//
// Thread-safety: none; an encoder or decoder and its models belong to one call.
#ifndef TRIBUTARY_COMPRESS_ARITH_CODER_H_
#define TRIBUTARY_COMPRESS_ARITH_CODER_H_

#include <cstdint>
#include <span>
#include <vector>

namespace tributary {

// The probability that the next bit is 0, in units of 2^-16, learnt as a running average whose
// rate falls from 1/2 to 1/kSlowestRate over the first bits seen: fast to learn, then stable.
struct AdaptiveBit {
  static constexpr int kSlowestRate = 30;
  uint16_t zero = 1 << 15;
  uint8_t seen = 0;
  void Update(int bit);
};

class ArithEncoder {
 public:
  explicit ArithEncoder(std::vector<uint8_t>* out) : out_(out) {}
  void Encode(AdaptiveBit& model, int bit);
  // `count` (at most 32) equiprobable bits of `bits`, the most significant first.
  void EncodeDirect(uint32_t bits, int count);
  // Writes the last bytes; nothing may be encoded afterwards.
  void Finish();

 private:
  void Normalize();
  void ShiftLow();

  std::vector<uint8_t>* out_;
  uint64_t low_ = 0;
  uint32_t range_ = 0xFFFFFFFFu;
  uint8_t cache_ = 0;
  uint64_t pending_ = 1;    // bytes waiting for a possible carry: the cache and 0xFF bytes
  bool first_byte_ = true;  // always 0 (no carry can reach it), so it is not written
};

class ArithDecoder {
 public:
  explicit ArithDecoder(std::span<const uint8_t> in);
  int Decode(AdaptiveBit& model);
  uint32_t DecodeDirect(int count);
  // True when decoding used exactly the bytes given: no more (reads past the end count as
  // zeros), no fewer.
  bool ConsumedExactly() const { return position_ == in_.size() && !overrun_; }
  // True once decoding has read past the end: a stream an encoder wrote never does, so the
  // caller can stop there instead of decoding up to its limits from zeros.
  bool Overran() const { return overrun_; }

 private:
  uint8_t NextByte();
  void Normalize();

  std::span<const uint8_t> in_;
  size_t position_ = 0;
  bool overrun_ = false;
  uint32_t range_ = 0xFFFFFFFFu;
  uint32_t code_ = 0;
};

// Non-negative integers up to 2^64 - 1 as an Elias-gamma-like code: the bit width w of the
// value (0 to 64) through an adaptive binary tree, then the w - 1 bits below the leading one,
// the first `adaptive_bits` of them adaptive (their context: the width and the bits before),
// the rest equiprobable.
class IntegerModel {
 public:
  explicit IntegerModel(int adaptive_bits);
  void Encode(ArithEncoder& encoder, uint64_t value);
  // False on a width over 64 (only a corrupt stream holds one).
  bool Decode(ArithDecoder& decoder, uint64_t* value);

 private:
  static constexpr int kWidthBits = 7;  // widths 0..127 representable, 0..64 valid
  int adaptive_bits_;
  std::vector<AdaptiveBit> width_;
  std::vector<AdaptiveBit> mantissa_;  // per width: a tree of 2^adaptive_bits contexts
};

// Fixed-width codes of `bits` bits (1 to 8), each through an adaptive binary tree: it learns
// the distribution of the codes, e.g. of QSGD's levels.
class SymbolModel {
 public:
  explicit SymbolModel(int bits) : bits_(bits), tree_(size_t{1} << bits) {}
  void Encode(ArithEncoder& encoder, uint32_t symbol);
  uint32_t Decode(ArithDecoder& decoder);

 private:
  int bits_;
  std::vector<AdaptiveBit> tree_;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_ARITH_CODER_H_
