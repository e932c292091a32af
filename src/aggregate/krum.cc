#include "aggregate/krum.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace tributary {

std::vector<ConfigField<StrategySpec>> KrumFields() {
  return {IntegerField<StrategySpec>(
      "strategy.krum_select", "updates multi-Krum averages (1: Krum)",
      [](StrategySpec& s) -> int& { return s.options.Mutable<KrumOptions>().select; }, 1, 100000)};
}

absl::StatusOr<std::unique_ptr<Krum>> Krum::Create(int byzantine, const KrumOptions& options) {
  if (byzantine < 0 || options.select < 1) {
    return absl::InvalidArgumentError("strategy.byzantine must be >= 0, strategy.krum_select >= 1");
  }
  return std::unique_ptr<Krum>(new Krum(byzantine, options.select));
}

absl::Status Krum::Combine(const std::vector<Buffered>& updates, std::span<float> out) {
  const size_t n = updates.size();
  const size_t f = static_cast<size_t>(byzantine_);
  if (n < f + 3) {
    return absl::FailedPreconditionError(absl::StrCat("krum: ", n, " updates; tolerating f = ", f,
                                                      " attackers needs at least ", f + 3));
  }
  const std::vector<std::vector<double>> distance = PairwiseSquaredDistances(updates);
  const size_t neighbours = n - f - 2;
  std::vector<double> score(n);
  for (size_t a = 0; a < n; ++a) {
    std::vector<double> others;
    for (size_t b = 0; b < n; ++b) {
      if (b != a) others.push_back(distance[a][b]);
    }
    std::sort(others.begin(), others.end());
    score[a] = std::accumulate(others.begin(), others.begin() + neighbours, 0.0);
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  // Updates are sorted by client id, so a stable sort breaks ties toward the lower id.
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return score[a] < score[b]; });
  const size_t m = std::min(n, static_cast<size_t>(select_));
  for (size_t i = 0; i < out.size(); ++i) {
    double sum = 0.0;
    for (size_t j = 0; j < m; ++j) sum += updates[order[j]].delta[i];
    out[i] = static_cast<float>(sum / static_cast<double>(m));
  }
  return absl::OkStatus();
}

}  // namespace tributary
