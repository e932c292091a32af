#include "model/max_pool_2x2.h"

#include <cmath>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tributary {
namespace {

// libtorch's rule, value for value: a window's maximum starts below every number and is replaced
// by a strictly larger value or by any NaN, scanning the window row by row. So the first value
// always counts (-inf passing or not changes nothing), and `Take` says when a later one does.
inline bool Take(float candidate, float best) { return candidate > best || std::isnan(candidate); }

// One output row: the maximum of each 2x2 window and where it was (0..3, row-major in the
// window). Four windows at a time with SSE2, without branches: the maximum's place is random,
// and a branching scalar loop spent most of its time on mispredictions.
void PoolRow(const float* top, const float* bottom, int64_t out_w, float* out, uint8_t* where) {
  int64_t ow = 0;
#if defined(__SSE2__)
  const __m128i one = _mm_set1_epi32(1), two = _mm_set1_epi32(2), three = _mm_set1_epi32(3);
  const auto take = [](__m128 candidate, __m128 best) {
    return _mm_or_ps(_mm_cmpgt_ps(candidate, best), _mm_cmpunord_ps(candidate, candidate));
  };
  const auto select = [](__m128 mask, __m128 yes, __m128 no) {
    return _mm_or_ps(_mm_and_ps(mask, yes), _mm_andnot_ps(mask, no));
  };
  const auto select_int = [](__m128 mask, __m128i yes, __m128i no) {
    const __m128i m = _mm_castps_si128(mask);
    return _mm_or_si128(_mm_and_si128(m, yes), _mm_andnot_si128(m, no));
  };
  for (; ow + 4 <= out_w; ow += 4) {
    const __m128 t0 = _mm_loadu_ps(top + 2 * ow), t1 = _mm_loadu_ps(top + 2 * ow + 4);
    const __m128 b0 = _mm_loadu_ps(bottom + 2 * ow), b1 = _mm_loadu_ps(bottom + 2 * ow + 4);
    const __m128 a = _mm_shuffle_ps(t0, t1, _MM_SHUFFLE(2, 0, 2, 0));
    const __m128 b = _mm_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 1, 3, 1));
    const __m128 c = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0));
    const __m128 d = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1));
    __m128 best = a;
    __m128i at = _mm_setzero_si128();
    __m128 mask = take(b, best);
    best = select(mask, b, best);
    at = select_int(mask, one, at);
    mask = take(c, best);
    best = select(mask, c, best);
    at = select_int(mask, two, at);
    mask = take(d, best);
    best = select(mask, d, best);
    at = select_int(mask, three, at);
    _mm_storeu_ps(out + ow, best);
    alignas(16) int32_t places[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(places), at);
    for (int i = 0; i < 4; ++i) where[ow + i] = static_cast<uint8_t>(places[i]);
  }
#endif
  for (; ow < out_w; ++ow) {
    const float window[4] = {top[2 * ow], top[2 * ow + 1], bottom[2 * ow], bottom[2 * ow + 1]};
    float best = window[0];
    uint8_t at = 0;
    for (uint8_t k = 1; k < 4; ++k) {
      if (Take(window[k], best)) {
        best = window[k];
        at = k;
      }
    }
    out[ow] = best;
    where[ow] = at;
  }
}

void PoolPlanes(const float* in, int64_t planes, int64_t height, int64_t width, float* out,
                uint8_t* where) {
  const int64_t out_h = height / 2, out_w = width / 2;
  for (int64_t p = 0; p < planes; ++p) {
    const float* plane = in + p * height * width;
    for (int64_t oh = 0; oh < out_h; ++oh) {
      const float* top = plane + 2 * oh * width;
      PoolRow(top, top + width, out_w, out, where);
      out += out_w;
      where += out_w;
    }
  }
}

// Backward: each output's gradient to its window's chosen input, zero elsewhere. `0.0f + g`
// as libtorch's accumulation into zeros does (a -0.0 gradient arrives as +0.0).
void UnpoolPlanes(const float* grad_out, const uint8_t* where, int64_t planes, int64_t height,
                  int64_t width, float* grad_in) {
  const int64_t out_h = height / 2, out_w = width / 2;
  for (int64_t p = 0; p < planes; ++p) {
    float* plane = grad_in + p * height * width;
    for (int64_t oh = 0; oh < out_h; ++oh) {
      float* top = plane + 2 * oh * width;
      for (int64_t ow = 0; ow < out_w; ++ow) {
        const uint8_t k = *where++;
        top[(k >> 1) * width + 2 * ow + (k & 1)] = 0.0f + *grad_out++;
      }
    }
  }
}

class MaxPool2x2Function : public torch::autograd::Function<MaxPool2x2Function> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x) {
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    torch::Tensor out = torch::empty({n, c, h / 2, w / 2}, x.options());
    torch::Tensor where = torch::empty({n, c, h / 2, w / 2}, x.options().dtype(torch::kUInt8));
    PoolPlanes(x.data_ptr<float>(), n * c, h, w, out.data_ptr<float>(), where.data_ptr<uint8_t>());
    ctx->save_for_backward({where});
    ctx->saved_data["height"] = h;
    ctx->saved_data["width"] = w;
    return out;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const torch::Tensor where = ctx->get_saved_variables()[0];
    const int64_t h = ctx->saved_data["height"].toInt(), w = ctx->saved_data["width"].toInt();
    const torch::Tensor grad_out = grads[0].contiguous();
    const int64_t n = where.size(0), c = where.size(1);
    torch::Tensor grad_in = torch::zeros({n, c, h, w}, grad_out.options());
    UnpoolPlanes(grad_out.data_ptr<float>(), where.data_ptr<uint8_t>(), n * c, h, w,
                 grad_in.data_ptr<float>());
    return {grad_in};
  }
};

}  // namespace

torch::Tensor MaxPool2x2(const torch::Tensor& x) {
  if (x.dim() != 4 || x.scalar_type() != torch::kFloat || !x.is_contiguous() ||
      x.device() != torch::kCPU || x.size(2) < 2 || x.size(3) < 2) {
    return torch::max_pool2d(x, 2);
  }
  return MaxPool2x2Function::apply(x);
}

}  // namespace tributary
