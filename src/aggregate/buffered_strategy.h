// Base of the strategies that by definition need every update of the round at once (median,
// trimmed mean, Krum). Memory: one fp32 copy of every accepted update, clients x 4 bytes per
// parameter, plus the global model.
//
// Accumulate() checks the layout, the example count and that every value is finite, so a NaN
// or infinite update is rejected before any robust statistic sees it. Finalize() orders the
// buffered updates by client id before combining them, which makes the result independent of
// arrival order.
//
// Bucketing (Karimireddy, He and Jaggi 2022, "Byzantine-robust learning on heterogeneous
// datasets via bucketing"): with bucket_size s > 1, the updates are shuffled and averaged in
// buckets of s (the last bucket may be smaller) before the robust rule sees them. Averaging
// shrinks the spread between honest clients with different data, which otherwise makes median
// or trimmed mean discard honest information; an attacker spoils at most its own bucket. The
// shuffle is seeded by the round's set of client ids, so it does not depend on arrival order.
//
// Nearest-neighbour mixing (Allouah et al. 2023, "Fixing by Mixing"), the alternative for rounds
// with too few updates to bucket: each update is replaced by the mean of its n - f nearest
// updates (itself included; f = `byzantine`), then the robust rule sees the mixed updates. An
// honest update's neighbours are mostly honest, so the honest spread shrinks toward their mean,
// while an outlying attacker is averaged with n - f - 1 others. Cost: O(n^2 d).
#ifndef TRIBUTARY_AGGREGATE_BUFFERED_STRATEGY_H_
#define TRIBUTARY_AGGREGATE_BUFFERED_STRATEGY_H_

#include <vector>

#include "aggregate/strategy.h"

namespace tributary {

class BufferedStrategy : public Strategy {
 public:
  absl::Status Init(const ModelState& global, int64_t expected_examples) override;
  absl::Status Accumulate(const ClientUpdate& update) override;
  absl::StatusOr<ModelState> Finalize() override;

  void set_bucket_size(int bucket_size) { bucket_size_ = bucket_size; }
  // Mixes each update with its nearest neighbours, tolerating `byzantine` attackers; -1: off.
  void set_nearest_neighbor_mixing(int byzantine) { mixing_byzantine_ = byzantine; }

 protected:
  struct Buffered {
    uint32_t client_id;
    int64_t num_examples;
    std::vector<float> delta;
  };
  // Writes the round's combined delta into `out` (zeros on entry). `updates` is non-empty and
  // sorted by client id.
  virtual absl::Status Combine(const std::vector<Buffered>& updates, std::span<float> out) = 0;
  virtual const char* name() const = 0;

  // Squared L2 distances between every pair of updates, [a][b].
  static std::vector<std::vector<double>> PairwiseSquaredDistances(
      const std::vector<Buffered>& updates);

 private:
  // The means of shuffled buckets of bucket_size_ updates, ids 0, 1, ... in bucket order.
  std::vector<Buffered> BucketMeans(std::vector<Buffered> updates) const;
  // Each update replaced by the mean of its n - f nearest (ties: lower client id first).
  absl::StatusOr<std::vector<Buffered>> MixWithNearestNeighbors(
      const std::vector<Buffered>& updates) const;

  ModelState global_;
  int64_t expected_examples_ = 0;
  bool in_round_ = false;
  int bucket_size_ = 1;
  int mixing_byzantine_ = -1;
  std::vector<Buffered> updates_;
};

}  // namespace tributary

#endif  // TRIBUTARY_AGGREGATE_BUFFERED_STRATEGY_H_
