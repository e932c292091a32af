// The quantities a figure of runs can put on its axes, read from metrics.jsonl rows: the names
// `tributary plot --x/--y` and the dashboard accept, with their labels and units.
#ifndef TRIBUTARY_REPORT_METRIC_AXES_H_
#define TRIBUTARY_REPORT_METRIC_AXES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "report/gnuplot_figure.h"

namespace tributary {

struct MetricAxis {
  std::string name;   // as given: "bytes_total", "test_accuracy", ...
  std::string label;  // axis title, with the unit
};

// round, bytes_up, bytes_down, bytes_total (cumulative, MB), sim_time (virtual seconds since the
// start), wall_time (seconds of the rounds so far), tokens (tokens trained on since the start),
// passes (forward plus backward passes of training windows since the start).
absl::StatusOr<MetricAxis> XAxis(const std::string& name);
// Any numeric field of a metrics row; accuracies are shown in percent, per-round bytes in MB.
absl::StatusOr<MetricAxis> YAxis(const std::string& name);
std::string XAxisNames();

// One point per row that has a value for both axes (a y measured only on evaluation rounds
// gives a point for each of those). Fails when the rows have no value for y at all.
absl::StatusOr<FigureSeries> SeriesFromRows(const std::vector<nlohmann::json>& rows,
                                            const MetricAxis& x, const MetricAxis& y,
                                            const std::string& label);

}  // namespace tributary

#endif  // TRIBUTARY_REPORT_METRIC_AXES_H_
