#include "dashboard/run_catalog.h"

#include <toml++/toml.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "report/run_state.h"

namespace tributary {
namespace {

namespace fs = std::filesystem;

bool HoldsRun(const fs::path& dir) {
  std::error_code error;
  return fs::is_regular_file(dir / "metrics.jsonl", error);
}

// What a person needs to tell runs apart in a list: the config's main choices.
nlohmann::json ConfigSummary(const std::string& dir) {
  nlohmann::json summary = nlohmann::json::object();
  auto text = ReadFile(dir + "/config.toml");
  if (!text.ok()) return summary;
  toml::table config;
  try {
    config = toml::parse(*text);
  } catch (const toml::parse_error&) {
    return summary;  // the list shows the run without its setup
  }
  auto copy = [&](const char* section, const char* key, const char* as) {
    const toml::node* node = config.at_path(absl::StrCat(section, ".", key)).node();
    if (node == nullptr) return;
    if (node->is_boolean()) {
      summary[as] = node->value<bool>().value_or(false);
    } else if (node->is_string()) {
      summary[as] = node->value<std::string>().value_or("");
    } else if (node->is_integer()) {
      summary[as] = node->value<int64_t>().value_or(0);
    }
  };
  copy("run", "name", "run_name");
  copy("run", "rounds", "rounds_planned");
  copy("run", "clients_per_round", "clients_per_round");
  copy("strategy", "name", "strategy");
  copy("model", "name", "model");
  copy("data", "dataset", "dataset");
  copy("data", "partition", "partition");
  copy("data", "num_clients", "num_clients");
  copy("compress", "uplink", "uplink");
  copy("compress", "downlink", "downlink");
  copy("privacy", "mode", "privacy");
  copy("secagg", "enabled", "secagg");
  return summary;
}

std::optional<double> Number(const nlohmann::json& row, const char* field) {
  auto it = row.find(field);
  if (it == row.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

}  // namespace

RunCatalog::RunCatalog(std::vector<std::string> roots, int max_depth)
    : roots_(std::move(roots)), max_depth_(max_depth) {}

void RunCatalog::ScanLocked() {
  std::map<std::string, std::string> found;  // id -> label
  empty_roots_.clear();
  for (const std::string& root : roots_) {
    const size_t found_before = found.size();
    const fs::path base = fs::path(root).lexically_normal();
    if (HoldsRun(base)) {
      found[base.string()] = base.filename().string();
      continue;
    }
    std::error_code error;
    fs::recursive_directory_iterator it(base, fs::directory_options::skip_permission_denied, error);
    for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (!it->is_directory(error)) continue;
      if (HoldsRun(it->path())) {
        const fs::path dir = it->path().lexically_normal();
        found[dir.string()] = dir.lexically_relative(base).string();
        it.disable_recursion_pending();  // a run's own subfolders are not runs
      } else if (it.depth() + 1 >= max_depth_) {
        it.disable_recursion_pending();
      }
    }
    if (found.size() == found_before) empty_roots_.push_back(root);
  }
  for (auto it = runs_.begin(); it != runs_.end();) {
    it = found.count(it->first) ? std::next(it) : runs_.erase(it);
  }
  for (const auto& [dir, label] : found) {
    if (runs_.count(dir)) continue;
    Run& run = runs_[dir];
    run.dir = dir;
    run.label = label;
    run.metrics = std::make_unique<MetricsTail>(dir + "/metrics.jsonl");
  }
}

absl::StatusOr<RunCatalog::Run*> RunCatalog::FindLocked(const std::string& id) {
  auto it = runs_.find(id);
  if (it == runs_.end()) {
    ScanLocked();
    it = runs_.find(id);
  }
  if (it == runs_.end()) return absl::NotFoundError(absl::StrCat("no run \"", id, "\""));
  return &it->second;
}

nlohmann::json RunCatalog::List() {
  std::lock_guard<std::mutex> lock(mutex_);
  ScanLocked();
  nlohmann::json list = nlohmann::json::array();
  for (auto& [id, run] : runs_) {
    nlohmann::json entry = {{"id", id}, {"name", run.label}};
    if (absl::Status read = run.metrics->Refresh(); !read.ok()) {
      entry["problem"] = std::string(read.message());
    }
    const std::vector<nlohmann::json>& rows = run.metrics->rows();
    entry["config"] = ConfigSummary(run.dir);
    auto state = ReadRunState(run.dir);
    std::string status = "unknown";
    if (!state.ok()) {
      entry["problem"] = std::string(state.status().message());
    } else if (state->status != RunStatus::kUnknown) {
      status = RunStatusName(state->status);
      if (!state->error.empty()) entry["error"] = state->error;
      if (!state->command.empty()) entry["command"] = state->command;
    } else if (std::error_code e; fs::exists(run.dir + "/model.pt", e)) {
      status = "finished";  // a run from before run_state.json: it saved its model
    }
    entry["status"] = status;
    entry["rounds_done"] = rows.empty() ? 0 : rows.back().value("round", 0);
    entry["partial_line"] = run.metrics->partial_line();
    entry["bad_lines"] = run.metrics->bad_lines();
    std::optional<double> best, last, perplexity;
    for (const nlohmann::json& row : rows) {
      if (auto accuracy = Number(row, "test_accuracy")) {
        best = std::max(best.value_or(*accuracy), *accuracy);
        last = accuracy;
      }
      if (auto p = Number(row, "test_perplexity")) perplexity = p;
    }
    entry["best_accuracy"] = best ? nlohmann::json(*best) : nlohmann::json();
    entry["last_accuracy"] = last ? nlohmann::json(*last) : nlohmann::json();
    entry["last_perplexity"] = perplexity ? nlohmann::json(*perplexity) : nlohmann::json();
    const nlohmann::json empty = nlohmann::json::object();
    const nlohmann::json& final_row = rows.empty() ? empty : rows.back();
    entry["bytes_up_total"] = final_row.value("bytes_up_total", int64_t{0});
    entry["bytes_down_total"] = final_row.value("bytes_down_total", int64_t{0});
    entry["sim_time_seconds"] = final_row.value("sim_time_seconds", 0.0);
    std::error_code error;
    const auto modified = fs::last_write_time(run.dir + "/metrics.jsonl", error);
    if (!error) {
      entry["updated"] = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::file_clock::to_sys(modified).time_since_epoch())
                             .count();
    }
    list.push_back(std::move(entry));
  }
  return list;
}

absl::StatusOr<nlohmann::json> RunCatalog::Metrics(const std::string& id, int since) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto run = FindLocked(id);
  if (!run.ok()) return run.status();
  if (absl::Status read = (*run)->metrics->Refresh(); !read.ok()) return read;
  const std::vector<nlohmann::json>& rows = (*run)->metrics->rows();
  if ((*run)->participation_rows > rows.size()) {  // the file was overwritten by a new run
    (*run)->participation_rows = 0;
    (*run)->participation.clear();
  }
  for (size_t i = (*run)->participation_rows; i < rows.size(); ++i) {
    auto clients = rows[i].find("accepted_clients");
    if (clients == rows[i].end() || !clients->is_array()) continue;
    for (const nlohmann::json& client : *clients) {
      if (client.is_number_integer()) ++(*run)->participation[client.get<int64_t>()];
    }
  }
  (*run)->participation_rows = rows.size();

  nlohmann::json reply = {{"id", id}, {"rows", nlohmann::json::array()}};
  for (const nlohmann::json& row : rows) {
    if (row.value("round", 0) <= since) continue;
    nlohmann::json copy = row;
    copy.erase("accepted_clients");
    reply["rows"].push_back(std::move(copy));
  }
  nlohmann::json participation = nlohmann::json::array();
  for (const auto& [client, count] : (*run)->participation)
    participation.push_back({client, count});
  reply["participation"] = std::move(participation);
  reply["partial_line"] = (*run)->metrics->partial_line();
  return reply;
}

absl::StatusOr<std::string> RunCatalog::Config(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto run = FindLocked(id);
  if (!run.ok()) return run.status();
  return ReadFile((*run)->dir + "/config.toml");
}

std::vector<std::string> RunCatalog::EmptyRoots() {
  std::lock_guard<std::mutex> lock(mutex_);
  return empty_roots_;
}

}  // namespace tributary
