#include "compress/byte_stream.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace tributary {

void ByteWriter::PutVarint(uint64_t value) {
  while (value >= 0x80) {
    out_->push_back(static_cast<uint8_t>(value) | 0x80);
    value >>= 7;
  }
  out_->push_back(static_cast<uint8_t>(value));
}

void ByteWriter::PutBytes(std::span<const uint8_t> bytes) {
  out_->insert(out_->end(), bytes.begin(), bytes.end());
}

uint8_t* ByteWriter::Extend(size_t n) {
  const size_t at = out_->size();
  out_->resize(at + n);
  return out_->data() + at;
}

absl::StatusOr<uint64_t> ByteReader::GetVarint() {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (remaining() == 0) return Truncated(1);
    const uint8_t byte = in_[position_++];
    if (shift == 63 && byte > 1) return absl::DataLossError("varint overflows 64 bits");
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  return absl::DataLossError("varint longer than 10 bytes");
}

absl::StatusOr<float> ByteReader::GetScale(const char* what) {
  absl::StatusOr<float> scale = Get<float>();
  if (!scale.ok()) return scale.status();
  if (!std::isfinite(*scale) || *scale < 0.0f) {
    return absl::DataLossError(absl::StrCat(what, ": invalid scale ", *scale));
  }
  return scale;
}

absl::StatusOr<std::span<const uint8_t>> ByteReader::GetBytes(size_t n) {
  if (remaining() < n) return Truncated(n);
  std::span<const uint8_t> bytes = in_.subspan(position_, n);
  position_ += n;
  return bytes;
}

absl::Status ByteReader::Truncated(size_t wanted) const {
  return absl::DataLossError(absl::StrCat("payload truncated: needed ", wanted, " bytes at offset ",
                                          position_, ", ", remaining(), " left"));
}

}  // namespace tributary
