// RecordedRound: what a run's metrics.jsonl says of each round's participation (the clients
// whose updates were aggregated, the weight the aggregation expected), for `tributary simulate
// --replay`: with the run's config and seed, the round engine recomputes that run's model
// exactly, e.g. a deployed run whose clients crashed, hung and reconnected.
#ifndef TRIBUTARY_ENGINE_RECORDED_ROUNDS_H_
#define TRIBUTARY_ENGINE_RECORDED_ROUNDS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tributary {

struct RecordedRound {
  std::vector<uint32_t> accepted_clients;  // ascending
  int64_t expected_weight = 0;             // 0: not recorded; the replay computes its own
};

// Reads a metrics.jsonl; fails on a malformed line, a round recorded twice, or a line without
// its accepted clients. Round 0 (the initial evaluation) is skipped.
absl::StatusOr<std::map<int, RecordedRound>> ReadRecordedRounds(const std::string& path);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_RECORDED_ROUNDS_H_
