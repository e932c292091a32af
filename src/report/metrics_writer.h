// Writes metrics.jsonl: one JSON object per round, flushed as soon as the round ends so that a
// crash loses nothing already reported.
//
// Thread-safety: not thread-safe.
#ifndef TRIBUTARY_REPORT_METRICS_WRITER_H_
#define TRIBUTARY_REPORT_METRICS_WRITER_H_

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "report/round_metrics.h"

namespace tributary {

class MetricsWriter {
 public:
  // Creates (or truncates) `path`. With keep_rounds > 0 (resuming a run), keeps the lines of
  // rounds up to keep_rounds and appends after them.
  static absl::StatusOr<std::unique_ptr<MetricsWriter>> Open(const std::string& path,
                                                             int keep_rounds = 0);
  ~MetricsWriter();

  absl::Status Write(const RoundMetrics& metrics);

 private:
  MetricsWriter(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  std::FILE* file_;
  std::string path_;
};

// One metrics.jsonl line (without the newline); absent evaluations are null.
std::string RoundMetricsToJson(const RoundMetrics& metrics);

}  // namespace tributary

#endif  // TRIBUTARY_REPORT_METRICS_WRITER_H_
