// The dashboard's web server (cpp-httplib): the page, its chart library and a small JSON API
// over a RunCatalog. Served by `tributary dashboard` for finished runs, and by `simulate` and
// `server` with --dashboard for the run in progress (docs/dashboard.md).
//
// Thread-safety: serves from its own threads; live_status is called from them.
#ifndef TRIBUTARY_DASHBOARD_DASHBOARD_SERVER_H_
#define TRIBUTARY_DASHBOARD_DASHBOARD_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "dashboard/run_catalog.h"
#include "nlohmann/json.hpp"

namespace httplib {
class Server;
}

namespace tributary {

struct DashboardOptions {
  std::string host = "127.0.0.1";
  int port = 0;                    // 0: any free port
  std::string token;               // required to listen beyond loopback; the API then asks for it
  std::vector<std::string> roots;  // run folders, or folders of runs
  std::string live_run;            // the folder of the run this process is running, if any
  // What the run in progress wants shown beside its metrics (a server's connected clients and
  // the current round's progress); called per poll, so it must be cheap.
  std::function<nlohmann::json()> live_status;
};

bool IsLoopbackHost(const std::string& host);

class DashboardServer {
 public:
  static absl::StatusOr<std::unique_ptr<DashboardServer>> Start(DashboardOptions options);
  ~DashboardServer();
  int port() const { return port_; }
  // API requests refused for a missing or wrong token.
  int64_t refused_requests() const { return refused_requests_.load(); }

 private:
  explicit DashboardServer(DashboardOptions options);
  void AddRoutes();

  DashboardOptions options_;
  RunCatalog catalog_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int64_t> refused_requests_{0};
};

}  // namespace tributary

#endif  // TRIBUTARY_DASHBOARD_DASHBOARD_SERVER_H_
