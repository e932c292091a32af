// The dashboard in a real browser: headless chromium (Debian's) loads the page that the
// tributary binary serves, runs its script, and the test reads what the charts hold from the
// rendered DOM (--dump-dom); screenshots go under the build folder (docs/dashboard.md).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace tributary {
namespace {

namespace fs = std::filesystem;

std::string RunCommand(const std::string& command, int* exit_code = nullptr) {
  std::string output;
  std::FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) output.append(buffer, n);
  const int status = pclose(pipe);
  if (exit_code != nullptr) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

// A process the test starts and kills: `tributary dashboard` or a live simulation.
class Background {
 public:
  Background(const std::vector<std::string>& args, const std::string& log) {
    pid_ = fork();
    if (pid_ == 0) {
      std::freopen(log.c_str(), "w", stdout);
      dup2(fileno(stdout), STDERR_FILENO);
      std::vector<char*> argv;
      for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~Background() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }

 private:
  pid_t pid_;
};

std::string Slurp(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Waits for `predicate` to hold, up to `seconds`.
template <typename Predicate>
bool WaitFor(Predicate predicate, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return predicate();
}

// The evaluated rounds' accuracies in a run's metrics.jsonl.
std::vector<double> Accuracies(const fs::path& run) {
  std::vector<double> values;
  std::ifstream in(run / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json row = nlohmann::json::parse(line, nullptr, false);
    if (row.is_object() && row["test_accuracy"].is_number()) values.push_back(row["test_accuracy"]);
  }
  return values;
}

class DashboardBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tributary_browser_" + std::to_string(getpid()));
    fs::create_directories(dir_);
    shots_ = fs::path(TRIBUTARY_BUILD_DIR) / "dashboard_screenshots";
    fs::create_directories(shots_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Headless chromium, a fresh profile in the test's folder for every run (a run that dies can
  // leave its profile locked for the next); `extra`: --dump-dom or --screenshot.
  std::string Chromium(const std::string& url, const std::string& extra) {
    const fs::path profile = dir_ / ("chromium-" + std::to_string(++chromium_runs_));
    return RunCommand(
        "timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
        "--no-first-run --user-data-dir=" +
        profile.string() + " --virtual-time-budget=4000 " + extra + " '" + url + "'");
  }
  // The rendered page; chromium's own log lines (stderr) come before it. A loaded machine
  // occasionally gets no page at all out of headless chromium (CI saw such runs, twice three in
  // a row), so a run that printed no document is tried again after a pause, five times at most;
  // the last output is returned as is.
  std::string Dom(const std::string& url) {
    std::string out;
    for (int attempt = 0; attempt < 6; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::seconds(1));
      out = Chromium(url, "--dump-dom");
      const size_t html = out.find("<html");
      if (html != std::string::npos) return out.substr(html);
    }
    return out;
  }
  int chromium_runs_ = 0;
  // The end of what chromium printed: where its error is when it printed no page.
  static std::string Tail(const std::string& text) {
    return text.size() <= 3000 ? text : text.substr(text.size() - 3000);
  }

  // A chart's data attribute (JSON), from the dumped DOM.
  static nlohmann::json ChartData(const std::string& dom, const std::string& chart,
                                  const std::string& attribute) {
    const std::regex tag("<div class=\"chart\" id=\"chart-" + chart + "\"[^>]*>");
    std::smatch match;
    if (!std::regex_search(dom, match, tag)) return nullptr;
    const std::regex value(attribute + "=\"([^\"]*)\"");
    std::smatch found;
    const std::string element = match.str();
    if (!std::regex_search(element, found, value)) return nullptr;
    const std::string json = std::regex_replace(found[1].str(), std::regex("&quot;"), "\"");
    return nlohmann::json::parse(json, nullptr, false);
  }

  // A short run of one of the repository's configs.
  fs::path Simulate(const std::string& config, const std::string& name) {
    const fs::path out = dir_ / "runs" / name;
    int code = -1;
    const std::string output =
        RunCommand(std::string(TRIBUTARY_BINARY) + " simulate " + TRIBUTARY_SOURCE_DIR +
                       "/configs/" + config + " --out " + out.string() + " " + kSmall + " --quiet",
                   &code);
    EXPECT_EQ(code, 0) << output;
    return out;
  }

  static constexpr char kSmall[] =
      "--set run.rounds=4 --set data.num_clients=8 --set run.clients_per_round=3 "
      "--set data.max_train_examples=1200 --set data.max_test_examples=300 --set train.epochs=1 "
      "--set model.name=mlp --set model.hidden=16";

  fs::path dir_;
  fs::path shots_;
};

TEST_F(DashboardBrowserTest, TwoFinishedRunsListedAndChartedAsTheirMetricsSay) {
  const fs::path iid = Simulate("fmnist_fedavg_iid.toml", "fedavg_iid");
  const fs::path dirichlet = Simulate("fmnist_fedavg_dirichlet.toml", "fedavg_dirichlet");
  const std::string log = (dir_ / "dashboard.log").string();
  Background dashboard(
      {TRIBUTARY_BINARY, "dashboard", (dir_ / "runs").string(), "--listen", "127.0.0.1:0"}, log);
  std::smatch match;
  const std::regex address("dashboard: http://127.0.0.1:([0-9]+)/");
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string text = Slurp(log);
        return std::regex_search(text, match, address);
      },
      30))
      << Slurp(log);
  const std::string base = "http://127.0.0.1:" + match[1].str() + "/";
  const std::string ids = iid.string() + "," + dirichlet.string();

  const std::string dom = Dom(base + "?runs=" + ids);
  for (const fs::path& run : {iid, dirichlet}) {
    EXPECT_NE(dom.find("<tr class=\"selected\" data-run=\"" + run.string() + "\""),
              std::string::npos)
        << run << " missing from the list:\n"
        << dom.substr(0, 4000);
  }
  const nlohmann::json points = ChartData(dom, "accuracy-round", "data-points");
  const nlohmann::json last = ChartData(dom, "accuracy-round", "data-last");
  ASSERT_TRUE(points.is_array() && last.is_array()) << Tail(dom);
  ASSERT_EQ(points.size(), 2u);
  const std::vector<double> iid_accuracy = Accuracies(iid);
  const std::vector<double> dirichlet_accuracy = Accuracies(dirichlet);
  EXPECT_EQ(points[0], iid_accuracy.size());
  EXPECT_EQ(points[1], dirichlet_accuracy.size());
  EXPECT_EQ(last[0].get<double>(), iid_accuracy.back());
  EXPECT_EQ(last[1].get<double>(), dirichlet_accuracy.back());
  // The diff of the two configs names what differs.
  EXPECT_NE(dom.find("<td>data.partition</td>"), std::string::npos);

  // The list (the top of the page) and a comparison (the whole page).
  for (const auto& [name, size] : std::vector<std::pair<std::string, std::string>>{
           {"runs", "1400,420"}, {"compare", "1400,1700"}}) {
    const fs::path shot = shots_ / ("dashboard_" + name + ".png");
    fs::remove(shot);
    Chromium(base + "?runs=" + ids, "--window-size=" + size + " --screenshot=" + shot.string());
    EXPECT_TRUE(fs::exists(shot)) << shot;
    if (fs::exists(shot)) {
      EXPECT_GT(fs::file_size(shot), 20000u) << shot;
    }
  }
}

TEST_F(DashboardBrowserTest, TheLivePageGainsAPointWhenARoundEnds) {
  const fs::path out = dir_ / "live";
  Background simulation({TRIBUTARY_BINARY,
                         "simulate",
                         std::string(TRIBUTARY_SOURCE_DIR) + "/configs/fmnist_fedavg_iid.toml",
                         "--out",
                         out.string(),
                         "--dashboard",
                         "0",
                         "--set",
                         "run.rounds=400",
                         "--set",
                         "data.num_clients=8",
                         "--set",
                         "run.clients_per_round=2",
                         "--set",
                         "data.max_train_examples=4000",
                         "--set",
                         "data.max_test_examples=300",
                         "--set",
                         "model.name=mlp",
                         "--set",
                         "model.hidden=16"},
                        (dir_ / "simulate.log").string());
  ASSERT_TRUE(WaitFor([&] { return fs::exists(out / "dashboard.port"); }, 120))
      << Slurp(dir_ / "simulate.log");
  std::string port = Slurp(out / "dashboard.port");
  port.erase(port.find_last_not_of("\n") + 1);
  const std::string url = "http://127.0.0.1:" + port + "/";
  // Whatever rounds the page shows first, a later look shows more.
  ASSERT_TRUE(WaitFor([&] { return !Accuracies(out).empty(); }, 120));
  const std::string first = Dom(url);
  const nlohmann::json before = ChartData(first, "accuracy-round", "data-points");
  ASSERT_TRUE(before.is_array() && before.size() == 1u) << Tail(first);
  const size_t shown = before[0];
  EXPECT_GE(shown, 1u);
  ASSERT_TRUE(WaitFor([&] { return Accuracies(out).size() > shown + 1; }, 120));
  const std::string second = Dom(url);
  const nlohmann::json after = ChartData(second, "accuracy-round", "data-points");
  ASSERT_TRUE(after.is_array() && after.size() == 1u) << Tail(second);
  EXPECT_GT(after[0].get<size_t>(), shown);
  EXPECT_NE(second.find("live: " + out.string()), std::string::npos);
}

}  // namespace
}  // namespace tributary
