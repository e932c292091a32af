#include "compress/powersgd_codec.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/fast_rng.h"
#include "common/status_util.h"

namespace tributary {
namespace {

// A standard-normal draw (Box-Muller) for Q's initialization and for replacement columns.
float Normal(FastRng& rng) {
  const float u = 1.0f - rng.UniformFloat();
  const float v = rng.UniformFloat();
  return std::sqrt(-2.0f * std::log(u)) * std::cos(6.2831853f * v);
}

// Orthonormalizes the columns of the row-major rows x rank matrix `p` in place: Gram-Schmidt with
// the projection done twice ("twice is enough"), so that rounding noise left along earlier
// columns is removed. A column that is (numerically) in the span of the earlier ones, as when
// the matrix has rank below `rank`, is replaced by a random direction orthogonal to them (drawn
// from `rng`): P stays orthonormal with all its columns, the reconstruction P P^T M is still a
// projection of M, and the warm-started Q keeps a live column that later rounds can turn
// towards a real direction. (Zeroing it instead, as this codec did, lost that rank for good:
// Q's column stayed zero in every later round.)
void Orthonormalize(std::vector<float>& p, size_t rows, size_t rank, FastRng& rng) {
  auto column_norm = [&](size_t c) {
    double norm = 0.0;
    for (size_t i = 0; i < rows; ++i) norm += double{p[i * rank + c]} * p[i * rank + c];
    return std::sqrt(norm);
  };
  auto project_out_earlier = [&](size_t c) {
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t prev = 0; prev < c; ++prev) {
        double dot = 0.0;
        for (size_t i = 0; i < rows; ++i) dot += double{p[i * rank + c]} * p[i * rank + prev];
        for (size_t i = 0; i < rows; ++i) {
          p[i * rank + c] -= static_cast<float>(dot) * p[i * rank + prev];
        }
      }
    }
  };
  for (size_t c = 0; c < rank; ++c) {
    const double original = column_norm(c);
    project_out_earlier(c);
    double norm = column_norm(c);
    if (!(norm > 1e-4 * original && norm > 1e-30) && c < rows) {
      for (size_t i = 0; i < rows; ++i) p[i * rank + c] = Normal(rng);
      const double drawn = column_norm(c);
      project_out_earlier(c);
      norm = column_norm(c);
      if (!(norm > 1e-4 * drawn)) norm = 0.0;
    }
    const float scale = norm > 1e-30 ? static_cast<float>(1.0 / norm) : 0.0f;
    for (size_t i = 0; i < rows; ++i) p[i * rank + c] *= scale;
  }
}

}  // namespace

std::string PowerSgdCodec::spec() const { return absl::StrCat("powersgd:rank=", rank_); }

std::vector<PowerSgdCodec::Shape> PowerSgdCodec::Shapes(std::span<const TensorSpec> layout,
                                                        size_t total) const {
  std::vector<Shape> shapes;
  if (layout.empty()) return {Shape{1, total, 0}};
  for (const TensorSpec& spec : layout) {
    const size_t numel = static_cast<size_t>(spec.NumElements());
    Shape shape{1, numel, 0};
    if (spec.shape.size() >= 2 && spec.shape[0] > 0) {
      shape.rows = static_cast<size_t>(spec.shape[0]);
      shape.cols = numel / shape.rows;
      const size_t r = std::min<size_t>({static_cast<size_t>(rank_), shape.rows, shape.cols});
      if ((shape.rows + shape.cols) * r < numel) shape.rank = r;
    }
    shapes.push_back(shape);
  }
  return shapes;
}

void PowerSgdCodec::Encode(std::span<const float> values, const CodecContext& context,
                           ByteWriter& out) const {
  const std::vector<Shape> shapes = Shapes(context.layout, values.size());
  size_t q_size = 0;
  for (const Shape& s : shapes) q_size += s.cols * s.rank;
  std::vector<float> scratch_q;
  std::vector<float>& q_all = context.state != nullptr ? context.state->low_rank_q : scratch_q;
  if (q_all.size() != q_size) {  // first round (or a new layout): random Q
    q_all.resize(q_size);
    FastRng rng(context.seed);
    for (float& v : q_all) v = Normal(rng);
  }
  FastRng replacements(context.seed ^ 0x9E3779B97F4A7C15ull);
  size_t offset = 0, q_offset = 0;
  for (const Shape& s : shapes) {
    const float* m = values.data() + offset;
    const size_t numel = s.rows * s.cols;
    if (s.rank == 0) {
      if (numel > 0) std::memcpy(out.Extend(numel * sizeof(float)), m, numel * sizeof(float));
      offset += numel;
      continue;
    }
    const size_t n = s.rows, k = s.cols, r = s.rank;
    float* q = q_all.data() + q_offset;
    std::vector<float> p(n * r, 0.0f);
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < k; ++j) {
        const float mij = m[i * k + j];
        for (size_t c = 0; c < r; ++c) p[i * r + c] += mij * q[j * r + c];
      }
    Orthonormalize(p, n, r, replacements);
    std::fill(q, q + k * r, 0.0f);
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < k; ++j) {
        const float mij = m[i * k + j];
        for (size_t c = 0; c < r; ++c) q[j * r + c] += mij * p[i * r + c];
      }
    std::memcpy(out.Extend(p.size() * sizeof(float)), p.data(), p.size() * sizeof(float));
    std::memcpy(out.Extend(k * r * sizeof(float)), q, k * r * sizeof(float));
    offset += numel;
    q_offset += k * r;
  }
}

absl::Status PowerSgdCodec::Decode(ByteReader& in, const CodecContext& context,
                                   std::span<float> out) const {
  size_t total = 0;
  for (const TensorSpec& spec : context.layout) total += static_cast<size_t>(spec.NumElements());
  if (!context.layout.empty() && total != out.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("powersgd: layout holds ", total, " values, payload ", out.size()));
  }
  size_t offset = 0;
  for (const Shape& s : Shapes(context.layout, out.size())) {
    const size_t numel = s.rows * s.cols;
    float* m = out.data() + offset;
    offset += numel;
    if (s.rank == 0) {
      TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> raw, in.GetBytes(numel * sizeof(float)));
      if (numel > 0) std::memcpy(m, raw.data(), raw.size());
      continue;
    }
    const size_t n = s.rows, k = s.cols, r = s.rank;
    std::vector<float> p(n * r), q(k * r);
    TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> p_bytes, in.GetBytes(p.size() * sizeof(float)));
    TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> q_bytes, in.GetBytes(q.size() * sizeof(float)));
    std::memcpy(p.data(), p_bytes.data(), p_bytes.size());
    std::memcpy(q.data(), q_bytes.data(), q_bytes.size());
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < k; ++j) {
        float sum = 0.0f;
        for (size_t c = 0; c < r; ++c) sum += p[i * r + c] * q[j * r + c];
        m[i * k + j] = sum;
      }
  }
  return absl::OkStatus();
}

}  // namespace tributary
