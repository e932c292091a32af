#include "aggregate/buffered_strategy.h"

#include <xxhash.h>

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"

namespace tributary {

absl::Status BufferedStrategy::Init(const ModelState& global, int64_t expected_examples) {
  if (expected_examples <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(name(), " needs a positive expected example count"));
  }
  global_ = global;
  expected_examples_ = expected_examples;
  updates_.clear();
  in_round_ = true;
  return absl::OkStatus();
}

absl::Status BufferedStrategy::Accumulate(const ClientUpdate& update) {
  if (!in_round_) return absl::FailedPreconditionError(absl::StrCat(name(), ": outside a round"));
  TRIB_RETURN_IF_ERROR(CheckClientUpdate(update, global_, expected_examples_));
  TRIB_RETURN_IF_ERROR(CheckFinite(update));
  std::span<const float> delta = update.delta->flat();
  updates_.push_back({update.client_id, update.num_examples, {delta.begin(), delta.end()}});
  return absl::OkStatus();
}

std::vector<BufferedStrategy::Buffered> BufferedStrategy::BucketMeans(
    std::vector<Buffered> updates) const {
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  for (const Buffered& u : updates) seed = XXH64(&u.client_id, sizeof(u.client_id), seed);
  Rng rng(seed);
  Shuffle(updates.data(), updates.size(), rng);
  std::vector<Buffered> buckets;
  const size_t s = static_cast<size_t>(bucket_size_);
  for (size_t begin = 0; begin < updates.size(); begin += s) {
    const size_t end = std::min(updates.size(), begin + s);
    Buffered bucket{.client_id = static_cast<uint32_t>(buckets.size()),
                    .num_examples = 0,
                    .delta = std::vector<float>(updates[begin].delta.size(), 0.0f)};
    for (size_t i = 0; i < bucket.delta.size(); ++i) {
      double sum = 0.0;
      for (size_t u = begin; u < end; ++u) sum += updates[u].delta[i];
      bucket.delta[i] = static_cast<float>(sum / static_cast<double>(end - begin));
    }
    for (size_t u = begin; u < end; ++u) bucket.num_examples += updates[u].num_examples;
    buckets.push_back(std::move(bucket));
  }
  return buckets;
}

std::vector<std::vector<double>> BufferedStrategy::PairwiseSquaredDistances(
    const std::vector<Buffered>& updates) {
  const size_t n = updates.size();
  std::vector<std::vector<double>> distance(n, std::vector<double>(n, 0.0));
  for (size_t a = 0; a < n; ++a) {
    for (size_t b = a + 1; b < n; ++b) {
      double d = 0.0;
      const std::vector<float>& x = updates[a].delta;
      const std::vector<float>& y = updates[b].delta;
      for (size_t i = 0; i < x.size(); ++i) {
        const double gap = static_cast<double>(x[i]) - y[i];
        d += gap * gap;
      }
      distance[a][b] = distance[b][a] = d;
    }
  }
  return distance;
}

absl::StatusOr<std::vector<BufferedStrategy::Buffered>> BufferedStrategy::MixWithNearestNeighbors(
    const std::vector<Buffered>& updates) const {
  const size_t n = updates.size();
  const size_t f = static_cast<size_t>(mixing_byzantine_);
  if (n <= f) {
    return absl::FailedPreconditionError(
        absl::StrCat(name(), ": ", n, " updates; nearest-neighbour mixing tolerating f = ", f,
                     " attackers needs more than ", f));
  }
  const std::vector<std::vector<double>> distance = PairwiseSquaredDistances(updates);
  const size_t neighbours = n - f;
  std::vector<Buffered> mixed;
  mixed.reserve(n);
  for (size_t a = 0; a < n; ++a) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    // Updates are sorted by client id: a stable sort puts the lower id first among equals, and
    // `a` itself (distance 0) before any other.
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
      if (x == a || y == a) return x == a && y != a;
      return distance[a][x] < distance[a][y];
    });
    Buffered out{.client_id = updates[a].client_id,
                 .num_examples = updates[a].num_examples,
                 .delta = std::vector<float>(updates[a].delta.size())};
    for (size_t i = 0; i < out.delta.size(); ++i) {
      double sum = 0.0;
      for (size_t k = 0; k < neighbours; ++k) sum += updates[order[k]].delta[i];
      out.delta[i] = static_cast<float>(sum / static_cast<double>(neighbours));
    }
    mixed.push_back(std::move(out));
  }
  return mixed;
}

absl::StatusOr<ModelState> BufferedStrategy::Finalize() {
  if (!in_round_) return absl::FailedPreconditionError(absl::StrCat(name(), ": outside a round"));
  in_round_ = false;
  if (updates_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(name(), ": no client update was accepted this round"));
  }
  std::sort(updates_.begin(), updates_.end(),
            [](const Buffered& a, const Buffered& b) { return a.client_id < b.client_id; });
  if (bucket_size_ > 1) updates_ = BucketMeans(std::move(updates_));
  if (mixing_byzantine_ >= 0) {
    absl::StatusOr<std::vector<Buffered>> mixed = MixWithNearestNeighbors(updates_);
    if (!mixed.ok()) {
      updates_.clear();
      return mixed.status();
    }
    updates_ = std::move(mixed).value();
  }
  std::vector<float> combined(global_.num_elements(), 0.0f);
  absl::Status status = Combine(updates_, combined);
  updates_.clear();
  TRIB_RETURN_IF_ERROR(status);
  ModelState next = std::move(global_);
  std::span<float> model = next.flat();
  for (size_t i = 0; i < model.size(); ++i) model[i] += combined[i];
  return next;
}

}  // namespace tributary
