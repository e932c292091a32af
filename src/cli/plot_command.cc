// tributary plot: a figure of one metric against another for one or more runs (gnuplot).
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/exit_code.h"
#include "common/log.h"
#include "common/status_util.h"
#include "report/gnuplot_figure.h"
#include "report/metric_axes.h"
#include "report/metrics_tail.h"

namespace tributary {
namespace {

// A run is named by its folder or by its metrics.jsonl.
std::string MetricsPath(const std::string& run) {
  return std::filesystem::is_directory(run) ? run + "/metrics.jsonl" : run;
}

std::string DefaultLabel(const std::string& run) {
  std::filesystem::path path(run);
  if (!std::filesystem::is_directory(path)) path = path.parent_path();
  path = path.lexically_normal();
  if (!path.has_filename()) path = path.parent_path();
  return path.filename().empty() ? run : path.filename().string();
}

absl::Status Plot(const PlotCommandOptions& options) {
  if (!options.labels.empty() && options.labels.size() != options.runs.size()) {
    return absl::InvalidArgumentError(absl::StrCat("--label given ", options.labels.size(),
                                                   " times for ", options.runs.size(), " runs"));
  }
  TRIB_ASSIGN_OR_RETURN(MetricAxis x, XAxis(options.x));
  TRIB_ASSIGN_OR_RETURN(MetricAxis y, YAxis(options.y));
  Figure figure;
  figure.title = options.title;
  figure.x_label = x.label;
  figure.y_label = y.label;
  figure.log_x = options.log_x;
  figure.log_y = options.log_y;
  figure.width = options.width;
  figure.height = options.height;
  for (size_t i = 0; i < options.runs.size(); ++i) {
    const std::string& run = options.runs[i];
    MetricsTail metrics(MetricsPath(run));
    if (auto read = metrics.Refresh(); !read.ok()) {
      return absl::NotFoundError(
          absl::StrCat("run ", run, ": no metrics.jsonl (", read.message(), ")"));
    }
    if (metrics.partial_line()) {
      LogWarning(
          "%s: the last line is half-written (a run in progress?); plotting the %zu "
          "complete rounds",
          run.c_str(), metrics.rows().size());
    }
    if (metrics.bad_lines() > 0) {
      LogWarning("%s: %d unreadable lines skipped", run.c_str(), metrics.bad_lines());
    }
    const std::string label = options.labels.empty() ? DefaultLabel(run) : options.labels[i];
    TRIB_ASSIGN_OR_RETURN(FigureSeries series, SeriesFromRows(metrics.rows(), x, y, label));
    figure.series.push_back(std::move(series));
  }
  if (const auto folder = std::filesystem::path(options.out).parent_path(); !folder.empty()) {
    std::error_code error;
    std::filesystem::create_directories(folder, error);
  }
  TRIB_RETURN_IF_ERROR(RenderFigure(figure, options.out));
  LogInfo("wrote %s (%zu runs, %s against %s)", options.out.c_str(), figure.series.size(),
          y.name.c_str(), x.name.c_str());
  return absl::OkStatus();
}

}  // namespace

int RunPlotCommand(const PlotCommandOptions& options) {
  absl::Status status = Plot(options);
  return status.ok() ? 0 : Fail(status);
}

}  // namespace tributary
