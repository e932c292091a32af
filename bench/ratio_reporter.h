// A console reporter that also prints, after the run, the throughput of chosen benchmarks as a
// ratio against a baseline measured in the same binary and run.
#ifndef TRIBUTARY_BENCH_RATIO_REPORTER_H_
#define TRIBUTARY_BENCH_RATIO_REPORTER_H_

#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tributary {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  // After the run, prints "candidate vs baseline: Nx" from their bytes_per_second.
  void AddRatio(std::string candidate, std::string baseline);

  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;

 private:
  std::map<std::string, double> bytes_per_second_;
  std::vector<std::pair<std::string, std::string>> ratios_;
};

// Registers the ratios, runs every benchmark with the reporter, prints the ratios.
int RunBenchmarksWithRatios(int argc, char** argv,
                            const std::vector<std::pair<std::string, std::string>>& ratios);

}  // namespace tributary

#endif  // TRIBUTARY_BENCH_RATIO_REPORTER_H_
