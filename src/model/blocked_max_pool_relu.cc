#include "model/blocked_max_pool_relu.h"

#include <cstdint>
#include <cstring>

namespace tributary {
namespace {

// Four lanes (channels) at a time with GCC's and clang's vector extensions: plain SSE2 on any
// x86-64, no branches (a window's maximum sits anywhere, and branches on it mispredict).
using Floats = float __attribute__((vector_size(16)));
using Ints = int32_t __attribute__((vector_size(16)));
using Bytes = uint8_t __attribute__((vector_size(4)));

Floats Load(const float* p) {
  Floats v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
void Store(float* p, Floats v) { std::memcpy(p, &v, sizeof v); }
Floats Select(Ints mask, Floats yes, Floats no) {
  return reinterpret_cast<Floats>((mask & reinterpret_cast<Ints>(yes)) |
                                  (~mask & reinterpret_cast<Ints>(no)));
}

struct PoolShape {
  int64_t planes, height, width, block, channels_per_image;
  int64_t out_h() const { return height / 2; }
  int64_t out_w() const { return width / 2; }
  // Where plane p's output pixel 0 goes, and how far apart its B lanes lie: contiguous in the
  // blocked layout; one output plane apart in the plain one, where plane p of the blocked tensor
  // is channel block p % (C / B) of image p / (C / B).
  int64_t OutputBase(int64_t p, bool plain) const {
    if (!plain) return p * out_h() * out_w() * block;
    const int64_t blocks = channels_per_image / block;
    return ((p / blocks) * channels_per_image + (p % blocks) * block) * out_h() * out_w();
  }
  int64_t PixelStride(bool plain) const { return plain ? 1 : block; }
  int64_t LaneStride(bool plain) const { return plain ? out_h() * out_w() : 1; }
};

// The window's maximum by libtorch's rule (start from the first value; a later one replaces it
// when strictly larger or NaN), then ReLU as libtorch's clamp_min(x, 0): x < 0 becomes +0, NaN
// and -0.0 stay. Each lane keeps its window place (0..3) and, in bit 2, whether the ReLU passes
// the gradient (its output is not <= 0).
template <int B>
void ForwardPixel(const float* top, const float* bottom, float* out, int64_t lane_stride,
                  uint8_t* where) {
  const Floats zero = {0, 0, 0, 0};
  for (int b = 0; b < B; b += 4) {
    const Floats window[4] = {Load(top + b), Load(top + B + b), Load(bottom + b),
                              Load(bottom + B + b)};
    Floats best = window[0];
    Ints at = {0, 0, 0, 0};
    for (int32_t k = 1; k < 4; ++k) {
      const Ints take = (window[k] > best) | (window[k] != window[k]);
      best = Select(take, window[k], best);
      at = (take & k) | (~take & at);
    }
    const Floats relu = Select(best < zero, zero, best);
    const Ints code = at | (~(relu <= zero) & 4);
    if (lane_stride == 1) {
      Store(out + b, relu);
    } else {
      for (int i = 0; i < 4; ++i) out[(b + i) * lane_stride] = relu[i];
    }
    const Bytes packed = __builtin_convertvector(code, Bytes);
    std::memcpy(where + b, &packed, sizeof packed);
  }
}

// Each output's gradient through the ReLU (g or +0) to its window's chosen input as `0.0f + g`,
// as libtorch's accumulation into zeros gives it; +0 to the other three.
template <int B>
void BackwardPixel(const float* grad_out, int64_t lane_stride, const uint8_t* where, float* top,
                   float* bottom) {
  const Floats zero = {0, 0, 0, 0};
  for (int b = 0; b < B; b += 4) {
    Bytes packed;
    std::memcpy(&packed, where + b, sizeof packed);
    const Ints code = __builtin_convertvector(packed, Ints);
    const Floats g = lane_stride == 1
                         ? Load(grad_out + b)
                         : Floats{grad_out[b * lane_stride], grad_out[(b + 1) * lane_stride],
                                  grad_out[(b + 2) * lane_stride], grad_out[(b + 3) * lane_stride]};
    const Floats passed = zero + Select((code & 4) != 0, g, zero);
    const Ints at = code & 3;
    Store(top + b, Select(at == 0, passed, zero));
    Store(top + B + b, Select(at == 1, passed, zero));
    Store(bottom + b, Select(at == 2, passed, zero));
    Store(bottom + B + b, Select(at == 3, passed, zero));
  }
}

template <int B>
void Forward(const PoolShape& s, const float* in, bool plain, float* out, uint8_t* where) {
  const int64_t pixel_stride = s.PixelStride(plain), lane_stride = s.LaneStride(plain);
  for (int64_t p = 0; p < s.planes; ++p) {
    float* plane_out = out + s.OutputBase(p, plain);
    for (int64_t oh = 0; oh < s.out_h(); ++oh) {
      const float* top = in + ((p * s.height + 2 * oh) * s.width) * B;
      const float* bottom = top + s.width * B;
      float* row_out = plane_out + oh * s.out_w() * pixel_stride;
      for (int64_t ow = 0; ow < s.out_w(); ++ow) {
        ForwardPixel<B>(top + 2 * ow * B, bottom + 2 * ow * B, row_out + ow * pixel_stride,
                        lane_stride, where);
        where += B;
      }
    }
  }
}

template <int B>
void Backward(const PoolShape& s, const float* grad_out, bool plain, const uint8_t* where,
              float* grad_in) {
  const int64_t pixel_stride = s.PixelStride(plain), lane_stride = s.LaneStride(plain);
  for (int64_t p = 0; p < s.planes; ++p) {
    const float* plane_grad = grad_out + s.OutputBase(p, plain);
    for (int64_t oh = 0; oh < s.out_h(); ++oh) {
      float* top = grad_in + ((p * s.height + 2 * oh) * s.width) * B;
      float* bottom = top + s.width * B;
      const float* row_grad = plane_grad + oh * s.out_w() * pixel_stride;
      for (int64_t ow = 0; ow < s.out_w(); ++ow) {
        BackwardPixel<B>(row_grad + ow * pixel_stride, lane_stride, where, top + 2 * ow * B,
                         bottom + 2 * ow * B);
        where += B;
      }
    }
  }
}

PoolShape ShapeOf(const torch::Tensor& blocked) {
  return PoolShape{.planes = blocked.size(0) * blocked.size(1),
                   .height = blocked.size(2),
                   .width = blocked.size(3),
                   .block = blocked.size(4),
                   .channels_per_image = blocked.size(1) * blocked.size(4)};
}

class BlockedMaxPoolReluFunction : public torch::autograd::Function<BlockedMaxPoolReluFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input,
                               bool plain_output) {
    const torch::Tensor x = input.contiguous();
    const PoolShape s = ShapeOf(x);
    const int64_t n = x.size(0), blocks = x.size(1);
    torch::Tensor out =
        plain_output ? torch::empty({n, s.channels_per_image, s.out_h(), s.out_w()}, x.options())
                     : torch::empty({n, blocks, s.out_h(), s.out_w(), s.block}, x.options());
    torch::Tensor where =
        torch::empty({n, blocks, s.out_h(), s.out_w(), s.block}, x.options().dtype(torch::kUInt8));
    if (s.block == 16) {
      Forward<16>(s, x.data_ptr<float>(), plain_output, out.data_ptr<float>(),
                  where.data_ptr<uint8_t>());
    } else {
      Forward<8>(s, x.data_ptr<float>(), plain_output, out.data_ptr<float>(),
                 where.data_ptr<uint8_t>());
    }
    ctx->save_for_backward({where});
    ctx->saved_data["height"] = s.height;
    ctx->saved_data["width"] = s.width;
    ctx->saved_data["plain"] = plain_output;
    return out;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const torch::Tensor where = ctx->get_saved_variables()[0];
    const torch::Tensor grad_out = grads[0].contiguous();
    const int64_t h = ctx->saved_data["height"].toInt(), w = ctx->saved_data["width"].toInt();
    const bool plain = ctx->saved_data["plain"].toBool();
    const std::vector<int64_t> in_sizes{where.size(0), where.size(1), h, w, where.size(4)};
    // Odd sizes leave a last row or column outside every window: its gradient is zero.
    torch::Tensor grad_in = (h % 2 == 0 && w % 2 == 0) ? torch::empty(in_sizes, grad_out.options())
                                                       : torch::zeros(in_sizes, grad_out.options());
    const PoolShape s = ShapeOf(grad_in);
    if (s.block == 16) {
      Backward<16>(s, grad_out.data_ptr<float>(), plain, where.data_ptr<uint8_t>(),
                   grad_in.data_ptr<float>());
    } else {
      Backward<8>(s, grad_out.data_ptr<float>(), plain, where.data_ptr<uint8_t>(),
                  grad_in.data_ptr<float>());
    }
    return {grad_in, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor BlockedMaxPool2x2Relu(const torch::Tensor& blocked, bool plain_output) {
  TORCH_CHECK(blocked.dim() == 5 && blocked.scalar_type() == torch::kFloat &&
                  blocked.device().is_cpu() && (blocked.size(4) == 8 || blocked.size(4) == 16) &&
                  blocked.size(2) >= 2 && blocked.size(3) >= 2,
              "BlockedMaxPool2x2Relu: needs a float CPU tensor [N, C/B, H, W, B], B 8 or 16");
  return BlockedMaxPoolReluFunction::apply(blocked, plain_output);
}

}  // namespace tributary
