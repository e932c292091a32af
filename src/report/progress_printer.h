// One line per round on the terminal: what a person watching a run wants to see.
#ifndef TRIBUTARY_REPORT_PROGRESS_PRINTER_H_
#define TRIBUTARY_REPORT_PROGRESS_PRINTER_H_

#include <cstdio>
#include <string>

#include "report/round_metrics.h"

namespace tributary {

// "12.3 MB"-style decimal byte counts.
std::string FormatBytes(int64_t bytes);

class ProgressPrinter {
 public:
  // `out`: null prints nothing (tributary --quiet).
  ProgressPrinter(std::FILE* out, int total_rounds) : out_(out), total_rounds_(total_rounds) {}
  void PrintRound(const RoundMetrics& metrics);

 private:
  std::FILE* out_;
  int total_rounds_;
  double elapsed_seconds_ = 0.0;
};

}  // namespace tributary

#endif  // TRIBUTARY_REPORT_PROGRESS_PRINTER_H_
