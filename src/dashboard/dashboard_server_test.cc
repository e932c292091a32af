#include "dashboard/dashboard_server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tributary {
namespace {

namespace fs = std::filesystem;

class DashboardServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("tributary_dashboard_" + std::to_string(getpid()));
    fs::create_directories(root_ / "sweep" / "a");
    fs::create_directories(root_ / "sweep" / "b");
    fs::create_directories(root_ / "empty");
    // Round 0: the initial model's evaluation (run.eval_initial).
    std::ofstream(root_ / "sweep" / "a" / "metrics.jsonl")
        << R"({"round":0,"test_accuracy":0.1,"bytes_up_total":0})"
           "\n"
        << R"({"round":1,"test_accuracy":0.5,"bytes_up_total":10,"accepted_clients":[1,2]})"
           "\n"
        << R"({"round":2,"test_accuracy":0.75,"bytes_up_total":20,"accepted_clients":[2,3]})"
           "\n";
    std::ofstream(root_ / "sweep" / "a" / "config.toml")
        << "[run]\nname = 'a'\nrounds = 5\n[strategy]\nname = 'fedavg'\n[secagg]\nenabled = true\n";
    // A run in progress: its last line is half-written.
    std::ofstream(root_ / "sweep" / "b" / "metrics.jsonl") << R"({"round":1,"test_accuracy":0.25})"
                                                              "\n"
                                                              R"({"round":2,"test_acc)";
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<DashboardServer> Start(DashboardOptions options) {
    options.port = 0;
    auto server = DashboardServer::Start(std::move(options));
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? std::move(*server) : nullptr;
  }

  fs::path root_;
};

TEST_F(DashboardServerTest, ListsRunsWithTheirStatusAndServesTheirRounds) {
  auto server = Start({.roots = {(root_ / "sweep").string(), (root_ / "empty").string()}});
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  auto runs = client.Get("/api/runs");
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->status, 200);
  const nlohmann::json listing = nlohmann::json::parse(runs->body);
  ASSERT_EQ(listing["runs"].size(), 2u) << listing.dump(1);
  const nlohmann::json& a = listing["runs"][0];
  EXPECT_EQ(a["name"], "a");
  EXPECT_EQ(a["rounds_done"], 2);
  EXPECT_EQ(a["best_accuracy"], 0.75);
  EXPECT_EQ(a["config"]["rounds_planned"], 5);
  EXPECT_EQ(a["config"]["secagg"], true);
  EXPECT_EQ(a["status"], "unknown");  // no run_state.json, no model.pt
  const nlohmann::json& b = listing["runs"][1];
  EXPECT_EQ(b["rounds_done"], 1);
  EXPECT_EQ(b["partial_line"], true);
  EXPECT_EQ(listing["empty_roots"], nlohmann::json::array({(root_ / "empty").string()}));

  const std::string id = a["id"];
  auto metrics =
      client.Get("/api/metrics?run=" + httplib::detail::encode_query_param(id) + "&since=1");
  ASSERT_TRUE(metrics);
  ASSERT_EQ(metrics->status, 200) << metrics->body;
  const nlohmann::json reply = nlohmann::json::parse(metrics->body);
  ASSERT_EQ(reply["rows"].size(), 1u);
  EXPECT_EQ(reply["rows"][0]["round"], 2);
  EXPECT_FALSE(reply["rows"][0].contains("accepted_clients"));
  EXPECT_EQ(reply["participation"], nlohmann::json::parse("[[1,1],[2,2],[3,1]]"));

  // Without `since`, every round, the initial evaluation included.
  auto all = client.Get("/api/metrics?run=" + httplib::detail::encode_query_param(id));
  ASSERT_TRUE(all);
  ASSERT_EQ(all->status, 200) << all->body;
  const nlohmann::json every = nlohmann::json::parse(all->body);
  ASSERT_EQ(every["rows"].size(), 3u);
  EXPECT_EQ(every["rows"][0]["round"], 0);

  auto config = client.Get("/api/config?run=" + httplib::detail::encode_query_param(id));
  ASSERT_TRUE(config);
  EXPECT_NE(config->body.find("name = 'fedavg'"), std::string::npos);

  auto page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_NE(page->body.find("/assets/dashboard.js"), std::string::npos);
  auto chart_library = client.Get("/assets/uPlot.iife.min.js");
  ASSERT_TRUE(chart_library);
  EXPECT_EQ(chart_library->status, 200);
  EXPECT_GT(chart_library->body.size(), 10000u);
}

TEST_F(DashboardServerTest, BadRequestsGetClearErrors) {
  auto server = Start({.roots = {(root_ / "sweep").string()}});
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  for (const std::string path : {"/api/metrics?run=../../etc", "/api/config?run=/etc/passwd",
                                 "/api/metrics", "/assets/../../x", "/assets/index.html"}) {
    auto res = client.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path << " " << res->body;
  }
  auto since = client.Get("/api/metrics?run=x&since=-1");
  ASSERT_TRUE(since);
  EXPECT_EQ(since->status, 400);
  EXPECT_NE(since->body.find("since"), std::string::npos);
}

TEST_F(DashboardServerTest, BeyondLoopbackOnlyWithATokenThatTheApiAsksFor) {
  auto refused = DashboardServer::Start({.host = "0.0.0.0", .roots = {root_.string()}});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("token"), std::string::npos);
  EXPECT_FALSE(DashboardServer::Start({.token = "short", .roots = {root_.string()}}).ok());

  const std::string token = "0123456789abcdef-secret";
  auto server = Start({.host = "0.0.0.0", .token = token, .roots = {root_.string()}});
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  auto without = client.Get("/api/runs");
  ASSERT_TRUE(without);
  EXPECT_EQ(without->status, 401);
  auto wrong = client.Get("/api/runs?token=0123456789abcdef-secreT");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(server->refused_requests(), 2);
  auto with = client.Get("/api/runs?token=" + token);
  ASSERT_TRUE(with);
  EXPECT_EQ(with->status, 200);
  auto bearer = client.Get("/api/runs", {{"Authorization", "Bearer " + token}});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->status, 200);
  auto page = client.Get("/");  // the page itself holds no data
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
}

TEST_F(DashboardServerTest, LiveStatusComesWithTheListing) {
  auto server = Start({.roots = {(root_ / "sweep" / "a").string()},
                       .live_run = (root_ / "sweep" / "a").string(),
                       .live_status = [] {
                         return nlohmann::json{{"clients_connected", 7}};
                       }});
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  auto runs = client.Get("/api/runs");
  ASSERT_TRUE(runs);
  const nlohmann::json listing = nlohmann::json::parse(runs->body);
  EXPECT_EQ(listing["live"], (root_ / "sweep" / "a").string());
  EXPECT_EQ(listing["live_status"]["clients_connected"], 7);
  EXPECT_EQ(listing["runs"].size(), 1u);
}

}  // namespace
}  // namespace tributary
