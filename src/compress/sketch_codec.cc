#include "compress/sketch_codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "compress/topk_selector.h"

namespace tributary {
namespace {

// SplitMix64's finalizer: a cheap 64-bit mix with good avalanche, enough for bucket hashing.
uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Bucket (in [0, cols)) and sign of coordinate i in row r, from one hash.
struct Slot {
  size_t bucket;
  float sign;
};
Slot SlotOf(uint64_t i, int r, int64_t cols) {
  const uint64_t h = Mix((static_cast<uint64_t>(r) << 32 | i) + 0x9e3779b97f4a7c15ULL);
  return {static_cast<size_t>(((h >> 32) * static_cast<uint64_t>(cols)) >> 32),
          (h & 1) ? -1.0f : 1.0f};
}

}  // namespace

std::string SketchCodec::spec() const {
  return absl::StrCat("sketch:rows=", rows_, ",cols=", cols_,
                      ratio_ > 0.0 ? absl::StrCat(",ratio=", ratio_) : absl::StrCat(",k=", k_));
}

size_t SketchCodec::CountFor(size_t dimension) const {
  if (k_ > 0) return std::min<size_t>(k_, dimension);
  return std::min(dimension,
                  std::max<size_t>(1, static_cast<size_t>(std::llround(ratio_ * dimension))));
}

void SketchCodec::AddToTable(std::span<const float> x, std::span<float> table) const {
  for (int r = 0; r < rows_; ++r) {
    float* row = table.data() + static_cast<size_t>(r) * cols_;
    for (size_t i = 0; i < x.size(); ++i) {
      const Slot slot = SlotOf(i, r, cols_);
      row[slot.bucket] += slot.sign * x[i];
    }
  }
}

void SketchCodec::ZeroBuckets(std::span<const uint32_t> indices, std::span<float> table) const {
  for (int r = 0; r < rows_; ++r) {
    float* row = table.data() + static_cast<size_t>(r) * cols_;
    for (uint32_t i : indices) row[SlotOf(i, r, cols_).bucket] = 0.0f;
  }
}

void SketchCodec::Encode(std::span<const float> values, const CodecContext& context,
                         ByteWriter& out) const {
  std::vector<float> table(table_size(), 0.0f);
  AddToTable(values, table);
  std::memcpy(out.Extend(table.size() * sizeof(float)), table.data(), table.size() * sizeof(float));
}

absl::Status SketchCodec::ReadTable(ByteReader& in, std::span<float> table) const {
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, in.GetBytes(table.size() * sizeof(float)));
  std::memcpy(table.data(), bytes.data(), bytes.size());
  bool finite = true;
  for (float v : table) finite &= std::isfinite(v);
  if (!finite) return absl::InvalidArgumentError("sketch table holds a non-finite value");
  return absl::OkStatus();
}

void SketchCodec::Unsketch(std::span<const float> table, size_t dimension,
                           std::vector<uint32_t>* indices, std::vector<float>* values) const {
  std::vector<float> estimates(dimension);
  std::vector<float> votes(rows_);
  const size_t middle = rows_ / 2;
  for (size_t i = 0; i < dimension; ++i) {
    for (int r = 0; r < rows_; ++r) {
      const Slot slot = SlotOf(i, r, cols_);
      votes[r] = slot.sign * table[static_cast<size_t>(r) * cols_ + slot.bucket];
    }
    std::nth_element(votes.begin(), votes.begin() + middle, votes.end());
    float median = votes[middle];
    if (rows_ % 2 == 0) {
      const float below = *std::max_element(votes.begin(), votes.begin() + middle);
      median = 0.5f * (median + below);
    }
    estimates[i] = median;
  }
  TopKIndices(estimates, CountFor(dimension), indices);
  values->resize(indices->size());
  for (size_t j = 0; j < indices->size(); ++j) (*values)[j] = estimates[(*indices)[j]];
}

absl::Status SketchCodec::Decode(ByteReader& in, const CodecContext& context,
                                 std::span<float> out) const {
  std::vector<float> table(table_size());
  TRIB_RETURN_IF_ERROR(ReadTable(in, table));
  std::vector<uint32_t> indices;
  std::vector<float> values;
  Unsketch(table, out.size(), &indices, &values);
  std::fill(out.begin(), out.end(), 0.0f);
  for (size_t j = 0; j < indices.size(); ++j) out[indices[j]] = values[j];
  return absl::OkStatus();
}

}  // namespace tributary
