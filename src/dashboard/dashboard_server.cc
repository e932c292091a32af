#include "dashboard/dashboard_server.h"

#include <httplib.h>
#include <sodium.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "dashboard/embedded_files.h"

namespace tributary {
namespace {

// Text from files (configs, error messages) may hold invalid UTF-8: replaced, never thrown on.
std::string Dump(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

const char* ContentType(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

const EmbeddedFile* FindFile(std::string_view name) {
  for (const EmbeddedFile& file : EmbeddedFiles()) {
    if (file.name == name) return &file;
  }
  return nullptr;
}

bool SameToken(const std::string& given, const std::string& expected) {
  return given.size() == expected.size() &&
         sodium_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

void SendError(httplib::Response& res, int code, const std::string& message) {
  res.status = code;
  res.set_content(Dump(nlohmann::json{{"error", message}}), "application/json");
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || absl::StartsWith(host, "127.");
}

DashboardServer::DashboardServer(DashboardOptions options)
    : options_(std::move(options)), catalog_(options_.roots) {}

absl::StatusOr<std::unique_ptr<DashboardServer>> DashboardServer::Start(DashboardOptions options) {
  if (!IsLoopbackHost(options.host) && options.token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the dashboard would listen on ", options.host,
        ", beyond this machine: give it a token (--dashboard-token / --token) that the page's "
        "address must carry (?token=...)"));
  }
  if (!options.token.empty() && options.token.size() < 16) {
    return absl::InvalidArgumentError("a dashboard token needs at least 16 characters");
  }
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("dashboard port ", options.port, " out of range"));
  }
  auto dashboard = std::unique_ptr<DashboardServer>(new DashboardServer(std::move(options)));
  dashboard->server_ = std::make_unique<httplib::Server>();
  dashboard->AddRoutes();
  const DashboardOptions& o = dashboard->options_;
  httplib::Server& server = *dashboard->server_;
  dashboard->port_ = o.port == 0 ? server.bind_to_any_port(o.host)
                                 : (server.bind_to_port(o.host, o.port) ? o.port : -1);
  if (dashboard->port_ < 0) {
    return absl::UnavailableError(
        absl::StrCat("the dashboard cannot listen on ", o.host, ":", o.port));
  }
  dashboard->thread_ = std::thread([&server] { server.listen_after_bind(); });
  return dashboard;
}

DashboardServer::~DashboardServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

void DashboardServer::AddRoutes() {
  httplib::Server& server = *server_;
  // The page and its scripts are public code; the API, which reads runs, needs the token.
  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; style-src 'self' 'unsafe-inline'");
    res.set_header("X-Content-Type-Options", "nosniff");
    if (options_.token.empty() || !absl::StartsWith(req.path, "/api/")) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    std::string given = req.get_param_value("token");
    const std::string authorization = req.get_header_value("Authorization");
    if (absl::StartsWith(authorization, "Bearer ")) given = authorization.substr(7);
    if (SameToken(given, options_.token)) return httplib::Server::HandlerResponse::Unhandled;
    if (refused_requests_.fetch_add(1) == 0) {
      LogWarning("dashboard: refused a request without the right token from %s",
                 req.remote_addr.c_str());
    }
    SendError(res, 401, "this dashboard needs its token: open it as /?token=...");
    return httplib::Server::HandlerResponse::Handled;
  });

  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    const EmbeddedFile* page = FindFile("index.html");
    res.set_content(std::string(page->bytes), ContentType(page->name));
  });
  server.Get(R"(/assets/([A-Za-z0-9._-]+))",
             [](const httplib::Request& req, httplib::Response& res) {
               const EmbeddedFile* file = FindFile(req.matches[1].str());
               if (file == nullptr || file->name == "index.html") {
                 SendError(res, 404, "no such file");
                 return;
               }
               res.set_header("Cache-Control", "max-age=3600");
               res.set_content(std::string(file->bytes), ContentType(file->name));
             });

  server.Get("/api/runs", [this](const httplib::Request&, httplib::Response& res) {
    // List() rescans the folders; EmptyRoots() reports that scan.
    nlohmann::json reply = {{"runs", catalog_.List()}};
    reply["empty_roots"] = catalog_.EmptyRoots();
    reply["roots"] = options_.roots;
    reply["live"] =
        options_.live_run.empty() ? nlohmann::json() : nlohmann::json(options_.live_run);
    if (options_.live_status) reply["live_status"] = options_.live_status();
    res.set_content(Dump(reply), "application/json");
  });
  server.Get("/api/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    int since = -1;  // absent: every round, the initial evaluation (round 0) included
    if (req.has_param("since") &&
        (!absl::SimpleAtoi(req.get_param_value("since"), &since) || since < 0)) {
      SendError(res, 400, "since: a round number (0 or more)");
      return;
    }
    auto metrics = catalog_.Metrics(req.get_param_value("run"), since);
    if (!metrics.ok()) {
      SendError(res, metrics.status().code() == absl::StatusCode::kNotFound ? 404 : 500,
                std::string(metrics.status().message()));
      return;
    }
    res.set_content(Dump(*metrics), "application/json");
  });
  server.Get("/api/config", [this](const httplib::Request& req, httplib::Response& res) {
    auto config = catalog_.Config(req.get_param_value("run"));
    if (!config.ok()) {
      SendError(res, config.status().code() == absl::StatusCode::kNotFound ? 404 : 500,
                std::string(config.status().message()));
      return;
    }
    res.set_content(*config, "text/plain; charset=utf-8");
  });
}

}  // namespace tributary
