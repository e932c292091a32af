#include "report/gnuplot_figure.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "report/metric_axes.h"

namespace tributary {
namespace {

Figure TwoSeries() {
  Figure figure;
  figure.x_label = "round";
  figure.y_label = "test accuracy (%)";
  figure.series = {{"fedavg_iid", {1, 2, 3}, {50, 60, 70}}, {"topk \"1%\"", {1, 2}, {40, 55}}};
  return figure;
}

TEST(GnuplotFigureTest, ScriptHoldsEverySeriesAndLabel) {
  auto script = GnuplotScript(TwoSeries(), "/tmp/x.svg");
  ASSERT_TRUE(script.ok()) << script.status();
  EXPECT_NE(script->find("set terminal svg"), std::string::npos);
  EXPECT_NE(script->find("title \"fedavg_iid\""), std::string::npos);
  EXPECT_NE(script->find("title \"topk \\\"1%\\\"\""), std::string::npos) << *script;
  EXPECT_NE(script->find("set ylabel \"test accuracy (%)\""), std::string::npos);
  EXPECT_NE(script->find("3 70\n"), std::string::npos);
  EXPECT_NE(GnuplotScript(TwoSeries(), "/tmp/x.pdf")->find("pdfcairo"), std::string::npos);
}

TEST(GnuplotFigureTest, NoTwoSeriesShareAStyle) {
  Figure figure = TwoSeries();
  figure.series.resize(14, figure.series[0]);
  auto script = GnuplotScript(figure, "/tmp/x.svg");
  ASSERT_TRUE(script.ok()) << script.status();
  std::set<std::string> styles;
  for (size_t start = 0; (start = script->find(" lc rgb ", start)) != std::string::npos;) {
    const size_t end = script->find(" title ", start);
    styles.insert(script->substr(start, end - start));
    start = end;
  }
  EXPECT_EQ(styles.size(), 14u) << *script;
}

TEST(GnuplotFigureTest, RejectsBadFiguresWithClearErrors) {
  EXPECT_EQ(GnuplotScript(TwoSeries(), "/tmp/x.jpg").status().code(),
            absl::StatusCode::kInvalidArgument);
  Figure uneven = TwoSeries();
  uneven.series[0].y.pop_back();
  EXPECT_EQ(GnuplotScript(uneven, "/tmp/x.svg").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GnuplotScript(Figure{}, "/tmp/x.svg").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(GnuplotFigureTest, RendersAnSvgWithTheLegendAndAxisTitles) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("tributary_figure_" + std::to_string(getpid()) + ".svg"))
                               .string();
  ASSERT_TRUE(RenderFigure(TwoSeries(), path).ok());
  std::ifstream in(path);
  std::stringstream svg;
  svg << in.rdbuf();
  std::filesystem::remove(path);
  EXPECT_NE(svg.str().find("<svg"), std::string::npos);
  EXPECT_NE(svg.str().find(">fedavg_iid<"), std::string::npos);
  EXPECT_NE(svg.str().find(">test accuracy (%)<"), std::string::npos);
  EXPECT_NE(svg.str().find(">round<"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path + ".gp"));
}

std::vector<nlohmann::json> Rows() {
  return {nlohmann::json::parse(R"({"round":1,"test_accuracy":null,"bytes_up_total":1000000,
                                   "bytes_down_total":3000000,"wall_seconds":2.0})"),
          nlohmann::json::parse(R"({"round":2,"test_accuracy":0.5,"bytes_up_total":2000000,
                                   "bytes_down_total":6000000,"wall_seconds":3.0})")};
}

TEST(MetricAxesTest, PointsOnlyWhereBothValuesExistInFigureUnits) {
  auto x = XAxis("bytes_total");
  auto y = YAxis("test_accuracy");
  ASSERT_TRUE(x.ok() && y.ok());
  auto series = SeriesFromRows(Rows(), *x, *y, "run");
  ASSERT_TRUE(series.ok()) << series.status();
  ASSERT_EQ(series->x.size(), 1u);
  EXPECT_DOUBLE_EQ(series->x[0], 8.0);   // MB, up + down, cumulative
  EXPECT_DOUBLE_EQ(series->y[0], 50.0);  // percent
  auto wall = SeriesFromRows(Rows(), *XAxis("wall_time"), *YAxis("bytes_up_total"), "run");
  ASSERT_TRUE(wall.ok());
  EXPECT_EQ(wall->x, (std::vector<double>{2.0, 5.0}));
  EXPECT_EQ(wall->y, (std::vector<double>{1e6, 2e6}));
  // Training passes: forward plus backward, where a row has both.
  const std::vector<nlohmann::json> text = {
      {{"round", 1},
       {"forward_passes_total", 200},
       {"backward_passes_total", 0},
       {"test_perplexity", 90.0}},
      {{"round", 2},
       {"forward_passes_total", 100},
       {"backward_passes_total", 100},
       {"test_perplexity", 80.0}},
      {{"round", 3}, {"forward_passes_total", 300}, {"test_perplexity", 70.0}}};
  auto passes = SeriesFromRows(text, *XAxis("passes"), *YAxis("test_perplexity"), "run");
  ASSERT_TRUE(passes.ok()) << passes.status();
  EXPECT_EQ(passes->x, (std::vector<double>{200.0, 200.0}));
  EXPECT_EQ(passes->y, (std::vector<double>{90.0, 80.0}));
}

TEST(MetricAxesTest, UnknownAxesAndAbsentValuesAreErrors) {
  EXPECT_EQ(XAxis("epoch").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(YAxis("test accuracy").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      SeriesFromRows(Rows(), *XAxis("round"), *YAxis("test_perplexity"), "run").status().code(),
      absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tributary
