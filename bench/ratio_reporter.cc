#include "ratio_reporter.h"

#include <cstdio>

namespace tributary {

void RatioReporter::AddRatio(std::string candidate, std::string baseline) {
  ratios_.emplace_back(std::move(candidate), std::move(baseline));
}

void RatioReporter::ReportRuns(const std::vector<Run>& runs) {
  for (const Run& run : runs) {
    auto it = run.counters.find("bytes_per_second");
    if (it != run.counters.end()) bytes_per_second_[run.benchmark_name()] = it->second;
  }
  ConsoleReporter::ReportRuns(runs);
}

void RatioReporter::Finalize() {
  ConsoleReporter::Finalize();
  if (ratios_.empty()) return;
  std::printf("\nThroughput ratios (same binary, same run):\n");
  for (const auto& [candidate, baseline] : ratios_) {
    auto c = bytes_per_second_.find(candidate);
    auto b = bytes_per_second_.find(baseline);
    if (c == bytes_per_second_.end() || b == bytes_per_second_.end()) {
      std::printf("  %s vs %s: not measured in this run\n", candidate.c_str(), baseline.c_str());
      continue;
    }
    std::printf("  %-45s %8.2f GB/s  vs  %-40s %8.2f GB/s  = %.2fx\n", candidate.c_str(),
                c->second / 1e9, baseline.c_str(), b->second / 1e9, c->second / b->second);
  }
}

int RunBenchmarksWithRatios(int argc, char** argv,
                            const std::vector<std::pair<std::string, std::string>>& ratios) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  for (const auto& [candidate, baseline] : ratios) reporter.AddRatio(candidate, baseline);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace tributary
