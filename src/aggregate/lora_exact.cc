#include "aggregate/lora_exact.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace tributary {
namespace {

torch::Tensor View(std::span<const float> values, const std::vector<int64_t>& shape) {
  return torch::from_blob(const_cast<float*>(values.data()), shape, torch::kFloat32);
}

}  // namespace

absl::Status LoraExact::Init(const ModelState& global, int64_t expected_examples) {
  global_ = global;
  expected_examples_ = expected_examples;
  held_.clear();
  pairs_.clear();
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < global.specs().size(); ++i) index[global.specs()[i].name] = i;
  int64_t remainder_size = 0;
  for (const auto& [name, a] : index) {
    if (!absl::EndsWith(name, ".lora_A")) continue;
    auto b = index.find(name.substr(0, name.size() - 1) + "B");
    if (b == index.end()) continue;
    const auto& a_shape = global.specs()[a].shape;
    const auto& b_shape = global.specs()[b->second].shape;
    if (a_shape.size() != 2 || b_shape.size() != 2 || a_shape[0] != b_shape[1]) {
      return absl::InvalidArgumentError(absl::StrCat("lora_exact: ", name, " and its B disagree"));
    }
    pairs_.push_back({a, b->second});
    remainder_size += b_shape[0] * a_shape[1];
  }
  if (pairs_.empty()) {
    return absl::InvalidArgumentError(
        "lora_exact needs LoRA adapters with both A and B trained (model.lora_rank > 0, "
        "model.lora_train_a = true)");
  }
  if (static_cast<int64_t>(remainder_.size()) != remainder_size) {
    remainder_.assign(remainder_size, 0.0f);
  }
  in_round_ = true;
  return absl::OkStatus();
}

absl::Status LoraExact::Accumulate(const ClientUpdate& update) {
  if (!in_round_) return absl::FailedPreconditionError("Accumulate() outside a round");
  TRIB_RETURN_IF_ERROR(CheckClientUpdate(update, global_, expected_examples_));
  TRIB_RETURN_IF_ERROR(CheckFinite(update));
  if (update.sent != nullptr) {
    return absl::InvalidArgumentError("lora_exact needs dense adapter updates");
  }
  held_.push_back({update.client_id, update.num_examples, *update.delta});
  return absl::OkStatus();
}

absl::StatusOr<ModelState> LoraExact::Finalize() {
  if (!in_round_) return absl::FailedPreconditionError("Finalize() outside a round");
  in_round_ = false;
  if (held_.empty()) return absl::FailedPreconditionError("no client update was aggregated");
  // Client order, not arrival order: the sums do not depend on scheduling.
  std::sort(held_.begin(), held_.end(),
            [](const Held& x, const Held& y) { return x.client_id < y.client_id; });
  double total_weight = 0.0;
  for (const Held& h : held_) total_weight += static_cast<double>(h.weight);
  ModelState next = global_;
  const auto& specs = global_.specs();
  try {
    torch::NoGradGuard no_grad;
    // Tensors outside the pairs: the weighted mean delta.
    std::vector<bool> paired(specs.size(), false);
    for (const Pair& p : pairs_) paired[p.a] = paired[p.b] = true;
    for (size_t t = 0; t < specs.size(); ++t) {
      if (paired[t]) continue;
      torch::Tensor sum = torch::zeros(specs[t].shape, torch::kFloat64);
      for (const Held& h : held_) {
        sum += View(h.delta.tensor(t), specs[t].shape).to(torch::kFloat64) * double(h.weight);
      }
      torch::Tensor out = View(next.tensor(t), specs[t].shape);
      out.add_((sum / total_weight).to(torch::kFloat32));
    }
    int64_t offset = 0;
    for (const Pair& p : pairs_) {
      const auto& a_shape = specs[p.a].shape;
      const auto& b_shape = specs[p.b].shape;
      const int64_t rank = a_shape[0];
      torch::Tensor a0 = View(global_.tensor(p.a), a_shape).to(torch::kFloat64);
      torch::Tensor b0 = View(global_.tensor(p.b), b_shape).to(torch::kFloat64);
      torch::Tensor product = torch::zeros({b_shape[0], a_shape[1]}, torch::kFloat64);
      for (const Held& h : held_) {
        torch::Tensor a = a0 + View(h.delta.tensor(p.a), a_shape).to(torch::kFloat64);
        torch::Tensor b = b0 + View(h.delta.tensor(p.b), b_shape).to(torch::kFloat64);
        product += torch::matmul(b, a) * (double(h.weight) / total_weight);
      }
      torch::Tensor remainder =
          View(std::span<const float>(remainder_).subspan(offset, product.numel()),
               {b_shape[0], a_shape[1]});
      product += remainder.to(torch::kFloat64);
      auto [u, s, vh] = torch::linalg::svd(product, /*full_matrices=*/false, c10::nullopt);
      torch::Tensor root = s.slice(0, 0, rank).sqrt();
      torch::Tensor b_new = u.slice(1, 0, rank) * root.unsqueeze(0);
      torch::Tensor a_new = root.unsqueeze(1) * vh.slice(0, 0, rank);
      View(next.tensor(p.b), b_shape).copy_(b_new.to(torch::kFloat32));
      View(next.tensor(p.a), a_shape).copy_(a_new.to(torch::kFloat32));
      remainder.copy_((product - torch::matmul(b_new, a_new)).to(torch::kFloat32));
      offset += product.numel();
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("lora_exact: ", e.what_without_backtrace()));
  }
  held_.clear();
  return next;
}

}  // namespace tributary
