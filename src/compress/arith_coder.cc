#include "compress/arith_coder.h"

#include <algorithm>
#include <bit>

namespace tributary {
namespace {

constexpr int kProbabilityBits = 16;
constexpr uint32_t kTop = uint32_t{1} << 24;  // the range is renormalized below this
// Probabilities stay away from 0 and 1: a bit coded against its model costs at most 10 bits.
constexpr uint16_t kMinZero = 64;
constexpr uint16_t kMaxZero = (1 << kProbabilityBits) - 64;

}  // namespace

void AdaptiveBit::Update(int bit) {
  const int rate = std::min<int>(seen + 2, kSlowestRate);
  if (seen < kSlowestRate) ++seen;
  int next = zero;
  if (bit == 0) {
    next += ((1 << kProbabilityBits) - next) / rate;
  } else {
    next -= next / rate;
  }
  zero = static_cast<uint16_t>(std::clamp<int>(next, kMinZero, kMaxZero));
}

void ArithEncoder::Encode(AdaptiveBit& model, int bit) {
  const uint32_t bound = (range_ >> kProbabilityBits) * model.zero;
  if (bit == 0) {
    range_ = bound;
  } else {
    low_ += bound;
    range_ -= bound;
  }
  model.Update(bit);
  Normalize();
}

void ArithEncoder::EncodeDirect(uint32_t bits, int count) {
  for (int i = count - 1; i >= 0; --i) {
    range_ >>= 1;
    if ((bits >> i) & 1) low_ += range_;
    Normalize();
  }
}

void ArithEncoder::Normalize() {
  while (range_ < kTop) {
    range_ <<= 8;
    ShiftLow();
  }
}

// Holds back the top byte of `low_` while a later carry could still change it (a run of 0xFF
// bytes after a cached byte), then writes them, carry added, once it cannot.
void ArithEncoder::ShiftLow() {
  if (static_cast<uint32_t>(low_) < 0xFF000000u || (low_ >> 32) != 0) {
    const uint8_t carry = static_cast<uint8_t>(low_ >> 32);
    uint8_t byte = cache_;
    do {
      if (first_byte_) {
        first_byte_ = false;
      } else {
        out_->push_back(static_cast<uint8_t>(byte + carry));
      }
      byte = 0xFF;
    } while (--pending_ != 0);
    cache_ = static_cast<uint8_t>(low_ >> 24);
  }
  ++pending_;
  low_ = (low_ & 0x00FFFFFFu) << 8;
}

void ArithEncoder::Finish() {
  for (int i = 0; i < 5; ++i) ShiftLow();
}

ArithDecoder::ArithDecoder(std::span<const uint8_t> in) : in_(in) {
  for (int i = 0; i < 4; ++i) code_ = (code_ << 8) | NextByte();
}

uint8_t ArithDecoder::NextByte() {
  if (position_ < in_.size()) return in_[position_++];
  overrun_ = true;
  return 0;
}

void ArithDecoder::Normalize() {
  while (range_ < kTop) {
    range_ <<= 8;
    code_ = (code_ << 8) | NextByte();
  }
}

int ArithDecoder::Decode(AdaptiveBit& model) {
  const uint32_t bound = (range_ >> kProbabilityBits) * model.zero;
  int bit;
  if (code_ < bound) {
    range_ = bound;
    bit = 0;
  } else {
    code_ -= bound;
    range_ -= bound;
    bit = 1;
  }
  model.Update(bit);
  Normalize();
  return bit;
}

uint32_t ArithDecoder::DecodeDirect(int count) {
  uint32_t bits = 0;
  for (int i = 0; i < count; ++i) {
    range_ >>= 1;
    uint32_t bit = 0;
    if (code_ >= range_) {
      code_ -= range_;
      bit = 1;
    }
    bits = (bits << 1) | bit;
    Normalize();
  }
  return bits;
}

IntegerModel::IntegerModel(int adaptive_bits)
    : adaptive_bits_(adaptive_bits),
      width_(size_t{1} << kWidthBits),
      mantissa_((64 + 1) * (size_t{1} << adaptive_bits)) {}

void IntegerModel::Encode(ArithEncoder& encoder, uint64_t value) {
  const int width = std::bit_width(value);
  size_t node = 1;
  for (int i = kWidthBits - 1; i >= 0; --i) {
    const int bit = (width >> i) & 1;
    encoder.Encode(width_[node], bit);
    node = 2 * node + bit;
  }
  const int below = std::max(width - 1, 0);
  const int adaptive = std::min(below, adaptive_bits_);
  AdaptiveBit* contexts = &mantissa_[static_cast<size_t>(width) << adaptive_bits_];
  node = 1;
  for (int i = 0; i < adaptive; ++i) {
    const int bit = static_cast<int>((value >> (below - 1 - i)) & 1);
    encoder.Encode(contexts[node], bit);
    node = 2 * node + bit;
  }
  for (int rest = below - adaptive; rest > 0;) {
    const int count = std::min(rest, 32);
    rest -= count;
    encoder.EncodeDirect(static_cast<uint32_t>((value >> rest) & ((uint64_t{1} << count) - 1)),
                         count);
  }
}

bool IntegerModel::Decode(ArithDecoder& decoder, uint64_t* value) {
  size_t node = 1;
  for (int i = 0; i < kWidthBits; ++i) node = 2 * node + decoder.Decode(width_[node]);
  const int width = static_cast<int>(node - (size_t{1} << kWidthBits));
  if (width > 64) return false;
  if (width == 0) {
    *value = 0;
    return true;
  }
  const int below = width - 1;
  const int adaptive = std::min(below, adaptive_bits_);
  AdaptiveBit* contexts = &mantissa_[static_cast<size_t>(width) << adaptive_bits_];
  uint64_t v = 1;
  node = 1;
  for (int i = 0; i < adaptive; ++i) {
    const int bit = decoder.Decode(contexts[node]);
    node = 2 * node + bit;
    v = (v << 1) | static_cast<uint64_t>(bit);
  }
  for (int rest = below - adaptive; rest > 0;) {
    const int count = std::min(rest, 32);
    rest -= count;
    v = (v << count) | decoder.DecodeDirect(count);
  }
  *value = v;
  return true;
}

void SymbolModel::Encode(ArithEncoder& encoder, uint32_t symbol) {
  size_t node = 1;
  for (int i = bits_ - 1; i >= 0; --i) {
    const int bit = static_cast<int>((symbol >> i) & 1);
    encoder.Encode(tree_[node], bit);
    node = 2 * node + bit;
  }
}

uint32_t SymbolModel::Decode(ArithDecoder& decoder) {
  size_t node = 1;
  for (int i = 0; i < bits_; ++i) node = 2 * node + decoder.Decode(tree_[node]);
  return static_cast<uint32_t>(node - (size_t{1} << bits_));
}

}  // namespace tributary
