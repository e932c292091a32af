#include "model/onednn_convolution.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <compare>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

namespace tributary {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr memory::data_type kF32 = memory::data_type::f32;

std::atomic<bool> blocked_convolutions{true};

const dnnl::engine& CpuEngine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// Streams are not thread-safe; primitives with a user scratchpad are, but the plans are kept per
// thread anyway (below), so nothing here needs a lock.
dnnl::stream& ThreadStream() {
  thread_local dnnl::stream stream(CpuEngine());
  return stream;
}

Tag BlockTag(int64_t block) {
  switch (block) {
    case 1:
      return Tag::abcd;
    case 8:
      return Tag::aBcd8b;
    case 16:
      return Tag::aBcd16b;
    default:
      return Tag::undef;
  }
}

// Everything a plan depends on. oneDNN sizes its kernels' work split by the thread count when a
// primitive is created, so a thread that changes its count gets new primitives.
struct ConvKey {
  int64_t batch, in_channels, height, width, out_channels, kernel_h, kernel_w, in_block, threads;
  auto operator<=>(const ConvKey&) const = default;
};

// One convolution's primitives, created once per shape and thread. The descriptors are the ones
// libtorch's oneDNN bridge (ideep) builds: direct algorithm, every layout left to oneDNN
// ("any"), a user scratchpad, backward primitives hinted by the forward one. So oneDNN chooses
// the kernels libtorch gets, and BlockedConv2d computes libtorch's results bit for bit.
struct ConvPlan {
  int64_t out_block = 0;  // 0: this shape is not handled without reorders
  bool backward_data_ok = false;
  memory::desc src, plain_weights, bias;
  dnnl::convolution_forward::primitive_desc forward_pd;
  dnnl::convolution_forward forward;
  dnnl::reorder weights_to_forward;
  dnnl::convolution_backward_weights::primitive_desc backward_weights_pd;
  dnnl::convolution_backward_weights backward_weights;
  dnnl::reorder diff_weights_to_plain;
  dnnl::convolution_backward_data::primitive_desc backward_data_pd;
  dnnl::convolution_backward_data backward_data;
  dnnl::reorder weights_to_backward_data;
};

std::unique_ptr<ConvPlan> MakePlan(const ConvKey& key) {
  auto plan = std::make_unique<ConvPlan>();
  const Tag in_tag = BlockTag(key.in_block);
  if (in_tag == Tag::undef || key.in_channels % key.in_block != 0) return plan;
  const memory::dims src_dims{key.batch, key.in_channels, key.height, key.width};
  const memory::dims weight_dims{key.out_channels, key.in_channels, key.kernel_h, key.kernel_w};
  const memory::dims bias_dims{key.out_channels};
  const memory::dims dst_dims{key.batch, key.out_channels, key.height - key.kernel_h + 1,
                              key.width - key.kernel_w + 1};
  const memory::dims strides{1, 1}, dilates{0, 0}, padding{0, 0};
  plan->src = memory::desc(src_dims, kF32, in_tag);
  plan->plain_weights = memory::desc(weight_dims, kF32, Tag::abcd);
  plan->bias = memory::desc(bias_dims, kF32, Tag::a);
  const memory::desc any_src(src_dims, kF32, Tag::any), any_weights(weight_dims, kF32, Tag::any),
      any_bias(bias_dims, kF32, Tag::any), any_dst(dst_dims, kF32, Tag::any);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::engine& engine = CpuEngine();
  try {
    plan->forward_pd = dnnl::convolution_forward::primitive_desc(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                        dnnl::algorithm::convolution_direct, any_src, any_weights,
                                        any_bias, any_dst, strides, dilates, padding, padding),
        attr, engine);
    const dnnl::convolution_forward::primitive_desc& fwd = plan->forward_pd;
    if (fwd.src_desc() != plan->src || fwd.bias_desc() != plan->bias) return plan;
    int64_t out_block = 0;
    for (const int64_t block : {8, 16}) {
      if (key.out_channels % block == 0 &&
          fwd.dst_desc() == memory::desc(dst_dims, kF32, BlockTag(block))) {
        out_block = block;
      }
    }
    if (out_block == 0) return plan;

    plan->backward_weights_pd = dnnl::convolution_backward_weights::primitive_desc(
        dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, any_src,
                                                 any_weights, any_bias, any_dst, strides, dilates,
                                                 padding, padding),
        attr, engine, fwd);
    const auto& bww = plan->backward_weights_pd;
    if (bww.src_desc() != plan->src || bww.diff_dst_desc() != fwd.dst_desc() ||
        bww.diff_bias_desc() != plan->bias) {
      return plan;
    }
    plan->backward_data_pd = dnnl::convolution_backward_data::primitive_desc(
        dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, any_src,
                                              any_weights, any_dst, strides, dilates, padding,
                                              padding),
        attr, engine, fwd);
    const auto& bwd = plan->backward_data_pd;
    plan->backward_data_ok =
        bwd.diff_src_desc() == plan->src && bwd.diff_dst_desc() == fwd.dst_desc();

    plan->forward = dnnl::convolution_forward(fwd);
    plan->weights_to_forward = dnnl::reorder(
        dnnl::reorder::primitive_desc(engine, plan->plain_weights, engine, fwd.weights_desc()));
    plan->backward_weights = dnnl::convolution_backward_weights(bww);
    plan->diff_weights_to_plain = dnnl::reorder(dnnl::reorder::primitive_desc(
        engine, bww.diff_weights_desc(), engine, plan->plain_weights));
    if (plan->backward_data_ok) {
      plan->backward_data = dnnl::convolution_backward_data(bwd);
      plan->weights_to_backward_data = dnnl::reorder(
          dnnl::reorder::primitive_desc(engine, plan->plain_weights, engine, bwd.weights_desc()));
    }
    plan->out_block = out_block;
  } catch (const dnnl::error&) {
    // No implementation for this shape on this CPU: the plan stays unusable (out_block 0).
  }
  return plan;
}

int64_t Channels(at::IntArrayRef sizes) {
  return sizes.size() == 5 ? sizes[1] * sizes[4] : sizes[1];
}

ConvKey KeyOf(at::IntArrayRef input_sizes, const torch::Tensor& weight) {
  return ConvKey{.batch = input_sizes[0],
                 .in_channels = Channels(input_sizes),
                 .height = input_sizes[2],
                 .width = input_sizes[3],
                 .out_channels = weight.size(0),
                 .kernel_h = weight.size(2),
                 .kernel_w = weight.size(3),
                 .in_block = input_sizes.size() == 5 ? input_sizes[4] : 1,
                 .threads = at::get_num_threads()};
}

const ConvPlan& PlanFor(const ConvKey& key) {
  thread_local std::map<ConvKey, std::unique_ptr<ConvPlan>> plans;
  std::unique_ptr<ConvPlan>& plan = plans[key];
  if (!plan) plan = MakePlan(key);
  return *plan;
}

memory Wrap(const memory::desc& desc, const torch::Tensor& tensor) {
  return memory(desc, CpuEngine(), tensor.data_ptr());
}

// A float tensor large enough for a buffer of this layout.
torch::Tensor BufferFor(const memory::desc& desc, const torch::Tensor& like) {
  return torch::empty({static_cast<int64_t>(desc.get_size() / sizeof(float))}, like.options());
}

// A failure inside oneDNN becomes the c10::Error every other failing libtorch operation raises.
void Execute(const dnnl::primitive& primitive, const memory::desc& scratchpad,
             std::unordered_map<int, memory> args) {
  thread_local std::vector<uint8_t> scratch;
  try {
    if (scratch.size() < scratchpad.get_size()) scratch.resize(scratchpad.get_size());
    args.emplace(DNNL_ARG_SCRATCHPAD, memory(scratchpad, CpuEngine(), scratch.data()));
    primitive.execute(ThreadStream(), args);
    ThreadStream().wait();
  } catch (const dnnl::error& e) {
    TORCH_CHECK(false, "oneDNN convolution failed: ", e.what());
  }
}

void Reorder(const dnnl::reorder& reorder, memory from, memory to) {
  try {
    reorder.execute(ThreadStream(), from, to);
    ThreadStream().wait();
  } catch (const dnnl::error& e) {
    TORCH_CHECK(false, "oneDNN reorder failed: ", e.what());
  }
}

class BlockedConv2dFunction : public torch::autograd::Function<BlockedConv2dFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input,
                               const torch::Tensor& weight, const torch::Tensor& bias) {
    TORCH_CHECK(bias.defined() && bias.dim() == 1 && bias.size(0) == weight.size(0),
                "BlockedConv2d: needs a bias of one value per output channel");
    const torch::Tensor x = input.contiguous(), w = weight.contiguous(), b = bias.contiguous();
    const ConvKey key = KeyOf(x.sizes(), w);
    const ConvPlan& plan = PlanFor(key);
    TORCH_CHECK(plan.out_block > 0, "BlockedConv2d: a shape oneDNN does not compute blocked");
    const auto& fwd = plan.forward_pd;
    const int64_t block = plan.out_block;
    torch::Tensor out =
        torch::empty({key.batch, key.out_channels / block, key.height - key.kernel_h + 1,
                      key.width - key.kernel_w + 1, block},
                     x.options());
    const torch::Tensor blocked_weights = BufferFor(fwd.weights_desc(), w);
    Reorder(plan.weights_to_forward, Wrap(plan.plain_weights, w),
            Wrap(fwd.weights_desc(), blocked_weights));
    Execute(plan.forward, fwd.scratchpad_desc(),
            {{DNNL_ARG_SRC, Wrap(plan.src, x)},
             {DNNL_ARG_WEIGHTS, Wrap(fwd.weights_desc(), blocked_weights)},
             {DNNL_ARG_BIAS, Wrap(plan.bias, b)},
             {DNNL_ARG_DST, Wrap(fwd.dst_desc(), out)}});
    ctx->save_for_backward({x, w});
    return out;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& w = saved[1];
    const ConvPlan& plan = PlanFor(KeyOf(x.sizes(), w));
    const torch::Tensor grad_out = grads[0].contiguous();
    const memory::desc& dst = plan.forward_pd.dst_desc();
    torch::Tensor grad_input, grad_weight, grad_bias;
    if (ctx->needs_input_grad(0)) {
      TORCH_CHECK(plan.backward_data_ok, "BlockedConv2d: no blocked backward pass for the input");
      const auto& bwd = plan.backward_data_pd;
      grad_input = torch::empty_like(x);
      const torch::Tensor blocked_weights = BufferFor(bwd.weights_desc(), w);
      Reorder(plan.weights_to_backward_data, Wrap(plan.plain_weights, w),
              Wrap(bwd.weights_desc(), blocked_weights));
      Execute(plan.backward_data, bwd.scratchpad_desc(),
              {{DNNL_ARG_DIFF_DST, Wrap(dst, grad_out)},
               {DNNL_ARG_WEIGHTS, Wrap(bwd.weights_desc(), blocked_weights)},
               {DNNL_ARG_DIFF_SRC, Wrap(plan.src, grad_input)}});
    }
    if (ctx->needs_input_grad(1) || ctx->needs_input_grad(2)) {
      const auto& bww = plan.backward_weights_pd;
      const torch::Tensor blocked_grad = BufferFor(bww.diff_weights_desc(), w);
      grad_bias = torch::empty({w.size(0)}, w.options());
      Execute(plan.backward_weights, bww.scratchpad_desc(),
              {{DNNL_ARG_SRC, Wrap(plan.src, x)},
               {DNNL_ARG_DIFF_DST, Wrap(dst, grad_out)},
               {DNNL_ARG_DIFF_WEIGHTS, Wrap(bww.diff_weights_desc(), blocked_grad)},
               {DNNL_ARG_DIFF_BIAS, Wrap(plan.bias, grad_bias)}});
      grad_weight = torch::empty_like(w);
      Reorder(plan.diff_weights_to_plain, Wrap(bww.diff_weights_desc(), blocked_grad),
              Wrap(plan.plain_weights, grad_weight));
    }
    return {grad_input, grad_weight, grad_bias};
  }
};

}  // namespace

int64_t ChannelBlock(const torch::Tensor& activation) {
  return activation.dim() == 5 ? activation.size(4) : 1;
}

void SetBlockedConvolutions(bool enabled) { blocked_convolutions = enabled; }

int64_t BlockedConv2dOutputBlock(at::IntArrayRef input_sizes, const torch::Tensor& weight,
                                 bool input_needs_grad) {
  if (!blocked_convolutions || !at::globalContext().userEnabledMkldnn() ||
      !weight.device().is_cpu() || weight.scalar_type() != torch::kFloat ||
      (input_sizes.size() != 4 && input_sizes.size() != 5) || weight.dim() != 4 ||
      weight.size(1) != Channels(input_sizes) || input_sizes[0] == 0 ||
      input_sizes[2] < weight.size(2) || input_sizes[3] < weight.size(3)) {
    return 0;
  }
  const ConvPlan& plan = PlanFor(KeyOf(input_sizes, weight));
  return input_needs_grad && !plan.backward_data_ok ? 0 : plan.out_block;
}

torch::Tensor BlockedConv2d(const torch::Tensor& input, const torch::Tensor& weight,
                            const torch::Tensor& bias) {
  return BlockedConv2dFunction::apply(input, weight, bias);
}

}  // namespace tributary
