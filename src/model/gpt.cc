#include "model/gpt.h"

#include <torch/torch.h>

#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/seeded_rng.h"

namespace tributary {
namespace {

// Decides for each tensor whether it is trained (a parameter) or frozen (a buffer viewing the
// base checkpoint), and fails loudly when the base lacks a tensor or has another shape.
class TensorSource {
 public:
  TensorSource(const ModelSpec& spec, const ModelState* base) : spec_(spec), base_(base) {
    if (base_ == nullptr) return;
    for (size_t i = 0; i < base_->specs().size(); ++i) index_[base_->specs()[i].name] = i;
  }

  bool lora() const { return base_ != nullptr; }
  const ModelSpec& spec() const { return spec_; }

  // A base-model tensor: trained from `init` without LoRA, frozen base weights with it.
  torch::Tensor Base(torch::nn::Module& owner, const std::string& prefix, const std::string& name,
                     torch::Tensor init) {
    const std::string full = prefix + name;
    if (!lora()) return owner.register_parameter(name, init);
    auto it = index_.find(full);
    if (it == index_.end()) {
      throw std::runtime_error(absl::StrCat("base checkpoint has no tensor '", full, "'"));
    }
    const TensorSpec& spec = base_->specs()[it->second];
    if (spec.shape != init.sizes().vec()) {
      throw std::runtime_error(absl::StrCat("base tensor '", full, "' has another shape"));
    }
    std::span<const float> values = base_->tensor(it->second);
    return owner.register_buffer(
        name, torch::from_blob(const_cast<float*>(values.data()), init.sizes(), torch::kFloat32));
  }

  // LoRA's A [r, in]: uniform in +-1/sqrt(in) from a stream fixed by the layer, so that every
  // party (and FFA-LoRA's frozen A) agrees without sending it.
  torch::Tensor AdapterA(torch::nn::Module& owner, int64_t in) {
    const int64_t r = spec_.lora_rank;
    Rng rng(DeriveSeed(0, layer_counter_++, 0, RngPurpose::kLoraInit));
    std::vector<float> values(r * in);
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    for (float& v : values) v = static_cast<float>((2.0 * UniformUnit(rng) - 1.0) * bound);
    torch::Tensor a = torch::from_blob(values.data(), {r, in}, torch::kFloat32).clone();
    if (spec_.lora_train_a) return owner.register_parameter("lora_A", a);
    return owner.register_buffer("lora_A", a);
  }

 private:
  const ModelSpec& spec_;
  const ModelState* base_;
  std::map<std::string, size_t> index_;
  uint64_t layer_counter_ = 0;
};

torch::Tensor Normal(std::vector<int64_t> shape, double stddev) {
  return torch::randn(shape) * stddev;
}

struct LinearImpl : torch::nn::Module {
  LinearImpl(TensorSource& source, const std::string& prefix, int64_t in, int64_t out,
             double init_std) {
    weight = source.Base(*this, prefix, "weight", Normal({out, in}, init_std));
    bias = source.Base(*this, prefix, "bias", torch::zeros({out}));
    if (source.lora()) {
      lora_a = source.AdapterA(*this, in);
      lora_b = register_parameter("lora_B", torch::zeros({out, source.spec().lora_rank}));
      scale = source.spec().lora_alpha / source.spec().lora_rank;
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = torch::nn::functional::linear(x, weight, bias);
    if (lora_b.defined()) {
      y = y +
          torch::nn::functional::linear(torch::nn::functional::linear(x, lora_a), lora_b) * scale;
    }
    return y;
  }
  torch::Tensor weight, bias, lora_a, lora_b;
  double scale = 0.0;
};

struct LayerNormImpl : torch::nn::Module {
  LayerNormImpl(TensorSource& source, const std::string& prefix, int64_t width) {
    weight = source.Base(*this, prefix, "weight", torch::ones({width}));
    bias = source.Base(*this, prefix, "bias", torch::zeros({width}));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return torch::layer_norm(x, {weight.size(0)}, weight, bias);
  }
  torch::Tensor weight, bias;
};

struct BlockImpl : torch::nn::Module {
  BlockImpl(TensorSource& source, const std::string& prefix, const ModelSpec& spec)
      : heads(spec.heads) {
    const int64_t d = spec.embed;
    // GPT-2 scales the residual projections' initialization by 1/sqrt(2 * layers).
    const double proj_std = 0.02 / std::sqrt(2.0 * spec.layers);
    auto child = [&](const std::string& name) { return prefix + name + "."; };
    ln1 = register_module("ln1", std::make_shared<LayerNormImpl>(source, child("ln1"), d));
    auto attn = register_module("attn", std::make_shared<torch::nn::Module>());
    qkv = attn->register_module(
        "qkv", std::make_shared<LinearImpl>(source, child("attn.qkv"), d, 3 * d, 0.02));
    attn_proj = attn->register_module(
        "proj", std::make_shared<LinearImpl>(source, child("attn.proj"), d, d, proj_std));
    ln2 = register_module("ln2", std::make_shared<LayerNormImpl>(source, child("ln2"), d));
    auto mlp = register_module("mlp", std::make_shared<torch::nn::Module>());
    fc = mlp->register_module(
        "fc", std::make_shared<LinearImpl>(source, child("mlp.fc"), d, 4 * d, 0.02));
    mlp_proj = mlp->register_module(
        "proj", std::make_shared<LinearImpl>(source, child("mlp.proj"), 4 * d, d, proj_std));
  }

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& future_mask) {
    const int64_t b = x.size(0), t = x.size(1), d = x.size(2), hd = d / heads;
    std::vector<torch::Tensor> qkv_parts = qkv->forward(ln1->forward(x)).split(d, 2);
    auto split_heads = [&](const torch::Tensor& m) {
      return m.view({b, t, heads, hd}).transpose(1, 2);  // [b, heads, t, hd]
    };
    torch::Tensor q = split_heads(qkv_parts[0]), k = split_heads(qkv_parts[1]),
                  v = split_heads(qkv_parts[2]);
    torch::Tensor scores = torch::matmul(q, k.transpose(2, 3)) / std::sqrt(static_cast<double>(hd));
    scores = scores.masked_fill(future_mask, -std::numeric_limits<float>::infinity());
    torch::Tensor attended = torch::matmul(torch::softmax(scores, -1), v);
    torch::Tensor h = x + attn_proj->forward(attended.transpose(1, 2).reshape({b, t, d}));
    return h + mlp_proj->forward(torch::gelu(fc->forward(ln2->forward(h))));
  }

  int64_t heads;
  std::shared_ptr<LayerNormImpl> ln1, ln2;
  std::shared_ptr<LinearImpl> qkv, attn_proj, fc, mlp_proj;
};

struct GptImpl : torch::nn::Module {
  GptImpl(TensorSource& source, const ModelSpec& spec) {
    auto tok = register_module("tok_emb", std::make_shared<torch::nn::Module>());
    tok_emb = source.Base(*tok, "tok_emb.", "weight", Normal({spec.num_classes, spec.embed}, 0.02));
    auto pos = register_module("pos_emb", std::make_shared<torch::nn::Module>());
    pos_emb = source.Base(*pos, "pos_emb.", "weight", Normal({spec.context, spec.embed}, 0.01));
    auto list = register_module("blocks", std::make_shared<torch::nn::Module>());
    for (int i = 0; i < spec.layers; ++i) {
      const std::string name = std::to_string(i);
      blocks.push_back(list->register_module(
          name, std::make_shared<BlockImpl>(source, "blocks." + name + ".", spec)));
    }
    ln_f = register_module("ln_f", std::make_shared<LayerNormImpl>(source, "ln_f.", spec.embed));
  }

  torch::Tensor forward(const torch::Tensor& tokens) {
    const int64_t t = tokens.size(1);
    if (t > pos_emb.size(0)) {
      throw std::runtime_error(absl::StrCat("sequence of ", t, " tokens is longer than the ",
                                            pos_emb.size(0), "-token context"));
    }
    torch::Tensor h = torch::embedding(tok_emb, tokens) + pos_emb.slice(0, 0, t);
    // True above the diagonal: position i may not attend to j > i.
    torch::Tensor future_mask = torch::ones({t, t}, torch::kBool).triu(1);
    for (auto& block : blocks) h = block->forward(h, future_mask);
    return torch::matmul(ln_f->forward(h), tok_emb.t());  // head tied to the token embedding
  }

  torch::Tensor tok_emb, pos_emb;
  std::vector<std::shared_ptr<BlockImpl>> blocks;
  std::shared_ptr<LayerNormImpl> ln_f;
};

}  // namespace

absl::StatusOr<std::shared_ptr<torch::nn::Module>> CreateGpt(const ModelSpec& spec,
                                                             const ModelState* base) {
  try {
    TensorSource source(spec, IsLora(spec) ? base : nullptr);
    return std::shared_ptr<torch::nn::Module>(std::make_shared<GptImpl>(source, spec));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("building gpt: ", e.what()));
  }
}

torch::Tensor GptForward(torch::nn::Module& gpt, const torch::Tensor& tokens) {
  return static_cast<GptImpl&>(gpt).forward(tokens);
}

}  // namespace tributary
