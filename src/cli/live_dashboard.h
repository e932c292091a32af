// --dashboard of `simulate` and `server`, and `tributary dashboard`: starting the dashboard's
// web server from command-line flags.
#ifndef TRIBUTARY_CLI_LIVE_DASHBOARD_H_
#define TRIBUTARY_CLI_LIVE_DASHBOARD_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dashboard/dashboard_server.h"

namespace tributary {

struct DashboardFlags {
  std::string listen;  // "PORT" (on 127.0.0.1) or "HOST:PORT"; empty: no dashboard
  std::string token;
  std::string token_file;  // keeps the token out of the process list
};

// Starts the dashboard for `roots` and prints its address (with the token, when one is set).
// With `live_run` (the output folder of this process's run) it also writes live_run/
// dashboard.port.
absl::StatusOr<std::unique_ptr<DashboardServer>> StartDashboard(
    const DashboardFlags& flags, std::vector<std::string> roots, const std::string& live_run,
    std::function<nlohmann::json()> live_status);

}  // namespace tributary

#endif  // TRIBUTARY_CLI_LIVE_DASHBOARD_H_
