// Reads a metrics.jsonl that may still be growing: each Refresh() parses only the complete lines
// appended since the last one, so a dashboard can follow a long run without rereading it.
//
// Thread-safety: not thread-safe.
#ifndef TRIBUTARY_REPORT_METRICS_TAIL_H_
#define TRIBUTARY_REPORT_METRICS_TAIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace tributary {

class MetricsTail {
 public:
  explicit MetricsTail(std::string path) : path_(std::move(path)) {}

  // Appends the complete new lines to rows(). A last line without its newline is a round still
  // being written: left for the next Refresh. A file that shrank (the run was overwritten) is
  // read again from the start. Unparsable complete lines are skipped and counted.
  absl::Status Refresh();

  const std::vector<nlohmann::json>& rows() const { return rows_; }
  int bad_lines() const { return bad_lines_; }
  bool partial_line() const { return partial_line_; }

 private:
  std::string path_;
  uint64_t offset_ = 0;
  std::vector<nlohmann::json> rows_;
  int bad_lines_ = 0;
  bool partial_line_ = false;
};

}  // namespace tributary

#endif  // TRIBUTARY_REPORT_METRICS_TAIL_H_
