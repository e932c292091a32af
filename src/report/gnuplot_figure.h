// Line figures drawn by gnuplot (Debian's gnuplot-nox): the figures of `tributary plot` and of
// the docs. The data goes inline into the script, so a figure is one self-contained script.
#ifndef TRIBUTARY_REPORT_GNUPLOT_FIGURE_H_
#define TRIBUTARY_REPORT_GNUPLOT_FIGURE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tributary {

struct FigureSeries {
  std::string label;
  std::vector<double> x;
  std::vector<double> y;  // same length as x
};

struct Figure {
  std::string title;  // empty: none
  std::string x_label;
  std::string y_label;
  bool log_x = false;
  bool log_y = false;
  int width = 800;  // pixels (SVG, PNG) or 1/100 inch (PDF)
  int height = 500;
  std::vector<FigureSeries> series;
};

// The gnuplot script that draws `figure` into `out_path`, whose extension (.svg, .png or .pdf)
// picks the terminal.
absl::StatusOr<std::string> GnuplotScript(const Figure& figure, const std::string& out_path);

// Runs gnuplot on that script; its error output becomes the error message.
absl::Status RenderFigure(const Figure& figure, const std::string& out_path);

}  // namespace tributary

#endif  // TRIBUTARY_REPORT_GNUPLOT_FIGURE_H_
