#include "report/gnuplot_figure.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"

extern char** environ;

namespace tributary {
namespace {

// Twelve distinguishable colours (Tableau's ten, black, olive); past twelve series the cycle
// repeats dashed, so no two series of a figure look alike (gnuplot's own cycle has eight).
constexpr const char* kSeriesColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                         "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                         "#bcbd22", "#17becf", "#000000", "#66a61e"};
constexpr size_t kNumSeriesColors = sizeof(kSeriesColors) / sizeof(kSeriesColors[0]);

// A gnuplot double-quoted string (the figure uses noenhanced text, so _ and ^ print as typed).
std::string Quoted(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    if (c == '\n') {
      quoted += "\\n";
      continue;
    }
    quoted += c;
  }
  return quoted + "\"";
}

absl::StatusOr<std::string> Terminal(const Figure& figure, const std::string& out_path) {
  const std::string extension = std::filesystem::path(out_path).extension().string();
  if (extension == ".svg") {
    return absl::StrFormat(
        "set terminal svg size %d,%d dynamic font 'sans,12' background '#ffffff'", figure.width,
        figure.height);
  }
  if (extension == ".png") {
    return absl::StrFormat("set terminal pngcairo size %d,%d font 'sans,11'", figure.width,
                           figure.height);
  }
  if (extension == ".pdf") {
    return absl::StrFormat("set terminal pdfcairo size %.2fin,%.2fin font 'sans,9'",
                           figure.width / 100.0, figure.height / 100.0);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("figure ", out_path, ": the file name must end in .svg, .png or .pdf"));
}

}  // namespace

absl::StatusOr<std::string> GnuplotScript(const Figure& figure, const std::string& out_path) {
  if (figure.series.empty()) return absl::InvalidArgumentError("a figure needs a series");
  auto terminal = Terminal(figure, out_path);
  if (!terminal.ok()) return terminal.status();
  std::string script = absl::StrCat(*terminal, "\nset output ", Quoted(out_path), "\n");
  absl::StrAppend(&script,
                  "set termoption noenhanced\n"
                  "set key outside right top vertical Left reverse noautotitle\n"
                  "set grid lc rgb '#dddddd'\n"
                  "set border 3\nset tics nomirror\n",
                  "set xlabel ", Quoted(figure.x_label), "\nset ylabel ", Quoted(figure.y_label),
                  "\n");
  if (!figure.title.empty()) absl::StrAppend(&script, "set title ", Quoted(figure.title), "\n");
  if (figure.log_x) absl::StrAppend(&script, "set logscale x\n");
  double x_max = 0.0;
  for (const FigureSeries& series : figure.series) {
    for (double x : series.x) {
      if (std::isfinite(x)) x_max = std::max(x_max, std::abs(x));
    }
  }
  // Linear tick labels such as 1.2e+06 run into each other; 1.2M does not.
  if (!figure.log_x && x_max >= 1e5) absl::StrAppend(&script, "set format x '%.1s%c'\n");
  if (figure.log_y) absl::StrAppend(&script, "set logscale y\n");
  for (size_t s = 0; s < figure.series.size(); ++s) {
    const FigureSeries& series = figure.series[s];
    if (series.x.size() != series.y.size()) {
      return absl::InvalidArgumentError(absl::StrCat("series ", series.label, ": ", series.x.size(),
                                                     " x values against ", series.y.size(),
                                                     " y values"));
    }
    absl::StrAppend(&script, "$series", s, " << EOD\n");
    for (size_t i = 0; i < series.x.size(); ++i) {
      if (!std::isfinite(series.x[i]) || !std::isfinite(series.y[i])) continue;
      absl::StrAppend(&script, absl::StrFormat("%.10g %.10g\n", series.x[i], series.y[i]));
    }
    absl::StrAppend(&script, "EOD\n");
  }
  absl::StrAppend(&script, "plot ");
  for (size_t s = 0; s < figure.series.size(); ++s) {
    absl::StrAppend(&script, s == 0 ? "" : ", \\\n     ", "$series", s,
                    " using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb '",
                    kSeriesColors[s % kNumSeriesColors], "' dt ", 1 + s / kNumSeriesColors,
                    " title ", Quoted(figure.series[s].label));
  }
  absl::StrAppend(&script, "\nset output\n");
  return script;
}

absl::Status RenderFigure(const Figure& figure, const std::string& out_path) {
  auto script = GnuplotScript(figure, out_path);
  if (!script.ok()) return script.status();
  const std::string script_path = out_path + ".gp";
  const std::string errors_path = out_path + ".gnuplot-errors";
  if (auto written = WriteFileAtomically(script_path, *script); !written.ok()) return written;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, errors_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::string program = "gnuplot";
  char* argv[] = {program.data(), const_cast<char*>(script_path.c_str()), nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  std::error_code ignored;
  if (spawned != 0) {
    std::filesystem::remove(script_path, ignored);
    std::filesystem::remove(errors_path, ignored);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run gnuplot (", std::strerror(spawned),
                     "): install Debian's gnuplot-nox (scripts/setup.sh does)"));
  }
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  auto errors = ReadFile(errors_path);
  std::filesystem::remove(errors_path, ignored);
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    return absl::InternalError(absl::StrCat("gnuplot failed on ", script_path, ": ",
                                            errors.ok() ? *errors : std::string("(no output)")));
  }
  // The script stays only when gnuplot failed, to be looked at.
  std::filesystem::remove(script_path, ignored);
  return absl::OkStatus();
}

}  // namespace tributary
