// Krum and multi-Krum (Blanchard et al. 2017): each update is scored by the sum of squared L2
// distances to its n - f - 2 nearest other updates (f = `byzantine`, the attackers tolerated);
// the m (`krum_select`) lowest-scoring updates are averaged, unweighted (m = 1: Krum). Ties go to
// the lower client id. Needs n > f + 2 accepted updates, else the round fails with an error.
// Cost: O(n^2 d) for the distances. Memory: BufferedStrategy.
#ifndef TRIBUTARY_AGGREGATE_KRUM_H_
#define TRIBUTARY_AGGREGATE_KRUM_H_

#include "aggregate/buffered_strategy.h"

namespace tributary {

class Krum : public BufferedStrategy {
 public:
  Krum(int byzantine, int select) : byzantine_(byzantine), select_(select) {}

 protected:
  absl::Status Combine(const std::vector<Buffered>& updates, std::span<float> out) override;
  const char* name() const override { return "krum"; }

 private:
  int byzantine_;
  int select_;
};

}  // namespace tributary

#endif  // TRIBUTARY_AGGREGATE_KRUM_H_
