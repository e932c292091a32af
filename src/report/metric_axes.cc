#include "report/metric_axes.h"

#include <cctype>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tributary {
namespace {

constexpr double kMegabyte = 1e6;

const std::map<std::string, std::string>& XLabels() {
  static const auto* labels = new std::map<std::string, std::string>{
      {"round", "round"},
      {"bytes_up", "uplink bytes, cumulative (MB)"},
      {"bytes_down", "downlink bytes, cumulative (MB)"},
      {"bytes_total", "uplink + downlink bytes, cumulative (MB)"},
      {"sim_time", "simulated time (s)"},
      {"wall_time", "wall-clock time of the rounds (s)"},
      {"tokens", "tokens trained on"},
      {"passes", "training passes through the model, forward + backward (windows)"},
  };
  return *labels;
}

const std::map<std::string, std::string>& YLabels() {
  static const auto* labels = new std::map<std::string, std::string>{
      {"test_accuracy", "test accuracy (%)"},
      {"client_accuracy", "mean client accuracy (%)"},
      {"test_loss", "test loss"},
      {"test_perplexity", "test perplexity"},
      {"train_loss", "training loss"},
      {"dp_epsilon", "privacy spent (epsilon)"},
      {"bytes_up", "uplink bytes per round (MB)"},
      {"bytes_down", "downlink bytes per round (MB)"},
      {"uplink_compression", "uplink compression (x)"},
      {"clients", "clients aggregated"},
      {"stragglers", "stragglers"},
      {"clients_dropped", "clients dropped"},
      {"clients_rejected", "clients rejected"},
      {"wall_seconds", "round wall-clock time (s)"},
      {"eval_seconds", "evaluation wall-clock time (s)"},
      {"sim_seconds", "round simulated time (s)"},
  };
  return *labels;
}

bool IsAccuracy(const std::string& name) {
  return name.size() >= 8 && name.compare(name.size() - 8, 8, "accuracy") == 0;
}

std::optional<double> Number(const nlohmann::json& row, const char* field) {
  auto it = row.find(field);
  if (it == row.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

}  // namespace

std::string XAxisNames() {
  std::vector<std::string> names;
  for (const auto& [name, label] : XLabels()) names.push_back(name);
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<MetricAxis> XAxis(const std::string& name) {
  auto it = XLabels().find(name);
  if (it == XLabels().end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown x axis \"", name, "\"; one of: ", XAxisNames()));
  }
  return MetricAxis{name, it->second};
}

absl::StatusOr<MetricAxis> YAxis(const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("empty y axis name");
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
      return absl::InvalidArgumentError(
          absl::StrCat("y axis \"", name, "\": a metrics.jsonl field name (letters, digits, _)"));
    }
  }
  auto it = YLabels().find(name);
  return MetricAxis{name, it == YLabels().end() ? name : it->second};
}

absl::StatusOr<FigureSeries> SeriesFromRows(const std::vector<nlohmann::json>& rows,
                                            const MetricAxis& x, const MetricAxis& y,
                                            const std::string& label) {
  FigureSeries series{label, {}, {}};
  const double y_scale = IsAccuracy(y.name)                                 ? 100.0
                         : (y.name == "bytes_up" || y.name == "bytes_down") ? 1.0 / kMegabyte
                                                                            : 1.0;
  double wall_time = 0.0;
  for (const nlohmann::json& row : rows) {
    wall_time += Number(row, "wall_seconds").value_or(0.0);
    std::optional<double> x_value;
    if (x.name == "round") {
      x_value = Number(row, "round");
    } else if (x.name == "bytes_up") {
      if (auto up = Number(row, "bytes_up_total")) x_value = *up / kMegabyte;
    } else if (x.name == "bytes_down") {
      if (auto down = Number(row, "bytes_down_total")) x_value = *down / kMegabyte;
    } else if (x.name == "bytes_total") {
      auto up = Number(row, "bytes_up_total");
      auto down = Number(row, "bytes_down_total");
      if (up && down) x_value = (*up + *down) / kMegabyte;
    } else if (x.name == "sim_time") {
      x_value = Number(row, "sim_time_seconds");
    } else if (x.name == "wall_time") {
      x_value = wall_time;
    } else if (x.name == "tokens") {
      x_value = Number(row, "tokens_trained_total");
    } else if (x.name == "passes") {
      auto forward = Number(row, "forward_passes_total");
      auto backward = Number(row, "backward_passes_total");
      if (forward && backward) x_value = *forward + *backward;
    }
    const std::optional<double> y_value = Number(row, y.name.c_str());
    if (!x_value || !y_value) continue;
    series.x.push_back(*x_value);
    series.y.push_back(*y_value * y_scale);
  }
  if (series.x.empty()) {
    return absl::NotFoundError(absl::StrCat(label, ": no round has both ", x.name, " and ", y.name,
                                            " (", rows.size(), " rounds read)"));
  }
  return series;
}

}  // namespace tributary
