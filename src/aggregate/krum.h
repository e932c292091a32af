// Krum and multi-Krum (Blanchard et al. 2017): each update is scored by the sum of squared L2
// distances to its n - f - 2 nearest other updates (f = `byzantine`, the attackers tolerated);
// the m (`krum_select`) lowest-scoring updates are averaged, unweighted (m = 1: Krum). Ties go to
// the lower client id. Needs n > f + 2 accepted updates, else the round fails with an error.
// Cost: O(n^2 d) for the distances. Memory: BufferedStrategy.
#ifndef TRIBUTARY_AGGREGATE_KRUM_H_
#define TRIBUTARY_AGGREGATE_KRUM_H_

#include "aggregate/buffered_strategy.h"

namespace tributary {

// strategy.krum_select, read by krum only.
struct KrumOptions {
  int select = 1;  // m updates averaged (1 = Krum, more = multi-Krum)
};
std::vector<ConfigField<StrategySpec>> KrumFields();

class Krum : public BufferedStrategy {
 public:
  // Fails unless byzantine >= 0 and select >= 1.
  static absl::StatusOr<std::unique_ptr<Krum>> Create(int byzantine, const KrumOptions& options);

 protected:
  absl::Status Combine(const std::vector<Buffered>& updates, std::span<float> out) override;
  const char* name() const override { return "krum"; }

 private:
  Krum(int byzantine, int select) : byzantine_(byzantine), select_(select) {}
  int byzantine_;
  int select_;
};

}  // namespace tributary

#endif  // TRIBUTARY_AGGREGATE_KRUM_H_
