// The runs a dashboard shows: every output folder (one holding metrics.jsonl) under the folders
// it was given, rescanned on each listing so new runs appear, each run's metrics followed
// incrementally (MetricsTail) so a poll costs only what was appended since the last one.
//
// Thread-safety: thread-safe (the HTTP server answers from several threads).
#ifndef TRIBUTARY_DASHBOARD_RUN_CATALOG_H_
#define TRIBUTARY_DASHBOARD_RUN_CATALOG_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "report/metrics_tail.h"

namespace tributary {

class RunCatalog {
 public:
  // `roots`: run folders, or folders of runs (searched `max_depth` levels down).
  explicit RunCatalog(std::vector<std::string> roots, int max_depth = 4);

  // Rescans the roots and returns one summary per run, sorted by folder: id (the folder), name
  // (the folder relative to the one given, e.g. "secagg/plain" under "runs"), status,
  // rounds done and planned, best and last accuracy (or perplexity), bytes, config summary.
  nlohmann::json List();

  // The rounds of run `id` after round `since` (-1: all of them, the initial evaluation's round 0
  // included; per-client id lists left out), and each client's participation count over the
  // whole run. NotFound for an id List() did not return.
  absl::StatusOr<nlohmann::json> Metrics(const std::string& id, int since);

  // The run's resolved config.toml.
  absl::StatusOr<std::string> Config(const std::string& id);

  // Folders given that held no run at the last List() (an explanation for an empty list).
  std::vector<std::string> EmptyRoots();

 private:
  struct Run {
    std::string dir;
    std::string label;  // the folder relative to the folder it was found under
    std::unique_ptr<MetricsTail> metrics;
    size_t participation_rows = 0;  // rows folded into participation
    std::map<int64_t, int64_t> participation;
  };
  void ScanLocked();
  absl::StatusOr<Run*> FindLocked(const std::string& id);

  std::vector<std::string> roots_;
  int max_depth_;
  std::mutex mutex_;
  std::map<std::string, Run> runs_;  // by id (the folder's path as found)
  std::vector<std::string> empty_roots_;
};

}  // namespace tributary

#endif  // TRIBUTARY_DASHBOARD_RUN_CATALOG_H_
