#include "model/seed_subspace.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/cpu_dispatch.h"
#include "common/fast_rng.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "model/shared_base.h"

namespace tributary {
namespace {

// ln x for x in (0, 1] (every such x here is a normal float): x = m 2^e with m in
// [sqrt(1/2), sqrt(2)), ln m = 2 atanh(t), t = (m - 1) / (m + 1), |t| < 0.172, whose odd series
// to t^9 is within 3e-8 of it.
inline float Log(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  int32_t exponent = static_cast<int32_t>(bits >> 23) - 127;
  const uint32_t mantissa_bits = (bits & 0x7fffffu) | 0x3f800000u;
  float m;
  std::memcpy(&m, &mantissa_bits, sizeof(m));
  const bool high = m > 1.41421356f;
  m = high ? m * 0.5f : m;
  exponent = high ? exponent + 1 : exponent;
  const float t = (m - 1.0f) / (m + 1.0f);
  const float t2 = t * t;
  const float series =
      1.0f + t2 * (1.0f / 3.0f + t2 * (1.0f / 5.0f + t2 * (1.0f / 7.0f + t2 * (1.0f / 9.0f))));
  return static_cast<float>(exponent) * 0.6931471806f + 2.0f * t * series;
}

// Box-Muller on each 64-bit word: 24 bits for the radius's uniform in (0, 1], 24 for the angle's
// in [0, 1). The angle is reduced to a quadrant and phi in [0, pi/2), where Taylor polynomials of
// degree 11 (sine) and 12 (cosine) are within 6e-8.
TRIB_CLONE_AVX2 void BoxMuller(const uint64_t* words, size_t pairs, float* out) {
  for (size_t i = 0; i < pairs; ++i) {
    const int32_t radius_bits = static_cast<int32_t>(words[i] >> 40);
    const int32_t angle_bits = static_cast<int32_t>((words[i] >> 16) & 0xffffffu);
    const float u1 = static_cast<float>(radius_bits + 1) * 0x1.0p-24f;
    const float quarter_turns = static_cast<float>(angle_bits) * 0x1.0p-22f;  // [0, 4)
    const int32_t quadrant = static_cast<int32_t>(quarter_turns);
    const float phi = (quarter_turns - static_cast<float>(quadrant)) * 1.5707963268f;
    const float p2 = phi * phi;
    const float sine =
        phi * (1.0f + p2 * (-1.0f / 6.0f +
                            p2 * (1.0f / 120.0f +
                                  p2 * (-1.0f / 5040.0f +
                                        p2 * (1.0f / 362880.0f + p2 * (-1.0f / 39916800.0f))))));
    const float cosine =
        1.0f +
        p2 * (-0.5f + p2 * (1.0f / 24.0f +
                            p2 * (-1.0f / 720.0f +
                                  p2 * (1.0f / 40320.0f +
                                        p2 * (-1.0f / 3628800.0f + p2 * (1.0f / 479001600.0f))))));
    // Rotate (cos, sin) of phi by the quadrant's quarter turns.
    const float c = quadrant == 0 ? cosine : quadrant == 1 ? -sine : quadrant == 2 ? -cosine : sine;
    const float s = quadrant == 0 ? sine : quadrant == 1 ? cosine : quadrant == 2 ? -sine : -cosine;
    const float radius = std::sqrt(-2.0f * Log(u1));
    out[2 * i] = radius * c;
    out[2 * i + 1] = radius * s;
  }
}

TRIB_CLONE_AVX2 void AddScaled(float scale, const float* z, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] += scale * z[i];
}

}  // namespace

void FillStandardNormal(uint64_t seed, std::span<float> out) {
  constexpr size_t kBlock = 1024;  // pairs per block of drawn words
  uint64_t words[kBlock];
  FastRng rng(seed);
  size_t done = 0;
  while (done < out.size()) {
    const size_t pairs = std::min(kBlock, (out.size() - done + 1) / 2);
    for (size_t i = 0; i < pairs; ++i) words[i] = rng.Next();
    if (done + 2 * pairs <= out.size()) {
      BoxMuller(words, pairs, out.data() + done);
    } else {  // an odd tail: the last pair's second value is dropped
      float tail[2 * kBlock];
      BoxMuller(words, pairs, tail);
      std::memcpy(out.data() + done, tail, (out.size() - done) * sizeof(float));
    }
    done += 2 * pairs;
  }
}

SeedSubspace::SeedSubspace(std::shared_ptr<const ModelState> base, int pool_size,
                           uint64_t pool_seed)
    : base_(std::move(base)), pool_size_(pool_size), pool_seed_(pool_seed) {}

uint64_t SeedSubspace::ChunkSeed(uint32_t j, size_t chunk) const {
  return DeriveSeed(pool_seed_, j, chunk, RngPurpose::kSeedPool);
}

void SeedSubspace::Direction(uint32_t j, std::span<float> out) const {
  for (size_t begin = 0, chunk = 0; begin < out.size(); begin += kChunk, ++chunk) {
    FillStandardNormal(ChunkSeed(j, chunk),
                       out.subspan(begin, std::min(kChunk, out.size() - begin)));
  }
}

void SeedSubspace::MaterializeChunks(std::span<const float> coefficients, std::span<float> out,
                                     size_t first, size_t last) const {
  std::vector<float> z(kChunk);
  std::span<const float> base = base_->flat();
  for (size_t chunk = first; chunk < last; ++chunk) {
    const size_t begin = chunk * kChunk;
    const size_t size = std::min(kChunk, out.size() - begin);
    std::memcpy(out.data() + begin, base.data() + begin, size * sizeof(float));
    for (size_t j = 0; j < coefficients.size(); ++j) {
      if (coefficients[j] == 0.0f) continue;
      FillStandardNormal(ChunkSeed(static_cast<uint32_t>(j), chunk), std::span(z).first(size));
      AddScaled(coefficients[j], z.data(), out.data() + begin, size);
    }
  }
}

void SeedSubspace::Materialize(std::span<const float> coefficients, std::span<float> out,
                               int threads) const {
  const size_t chunks = (out.size() + kChunk - 1) / kChunk;
  const size_t parts = std::clamp<size_t>(threads, 1, std::max<size_t>(chunks, 1));
  std::vector<std::thread> helpers;
  for (size_t part = 1; part < parts; ++part) {
    helpers.emplace_back([&, part] {
      MaterializeChunks(coefficients, out, chunks * part / parts, chunks * (part + 1) / parts);
    });
  }
  MaterializeChunks(coefficients, out, 0, chunks / parts);
  for (std::thread& helper : helpers) helper.join();
}

std::shared_ptr<const std::vector<float>> SeedSubspace::Weights(
    std::span<const float> coefficients) const {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cached_weights_ != nullptr && cached_coefficients_.size() == coefficients.size() &&
      std::equal(coefficients.begin(), coefficients.end(), cached_coefficients_.begin())) {
    return cached_weights_;
  }
  auto weights = std::make_shared<std::vector<float>>(dimension());
  Materialize(coefficients, *weights,
              static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  cached_coefficients_.assign(coefficients.begin(), coefficients.end());
  cached_weights_ = std::move(weights);
  return cached_weights_;
}

absl::StatusOr<std::shared_ptr<const SeedSubspace>> LoadSharedSubspace(const std::string& base,
                                                                       int pool_size,
                                                                       uint64_t pool_seed) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<const SeedSubspace>> loaded;
  const std::string key = absl::StrCat(pool_size, "/", pool_seed, "/", base);
  std::lock_guard<std::mutex> lock(mutex);
  if (std::shared_ptr<const SeedSubspace> held = loaded[key].lock()) return held;
  TRIB_ASSIGN_OR_RETURN(std::shared_ptr<const ModelState> weights, LoadSharedBase(base));
  auto shared = std::make_shared<const SeedSubspace>(std::move(weights), pool_size, pool_seed);
  loaded[key] = shared;
  return shared;
}

}  // namespace tributary
