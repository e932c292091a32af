#include "cli/live_dashboard.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli/host_port.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/status_util.h"

namespace tributary {

absl::StatusOr<std::unique_ptr<DashboardServer>> StartDashboard(
    const DashboardFlags& flags, std::vector<std::string> roots, const std::string& live_run,
    std::function<nlohmann::json()> live_status) {
  TRIB_ASSIGN_OR_RETURN(auto listen, SplitListenAddress(flags.listen));
  DashboardOptions options;
  options.host = listen.first;
  options.port = listen.second;
  options.token = flags.token;
  if (!flags.token_file.empty()) {
    if (!options.token.empty()) {
      return absl::InvalidArgumentError("give the dashboard token or its file, not both");
    }
    TRIB_ASSIGN_OR_RETURN(std::string token, ReadFile(flags.token_file));
    options.token = std::string(absl::StripAsciiWhitespace(token));
  }
  options.roots = std::move(roots);
  options.live_run = live_run;
  options.live_status = std::move(live_status);
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<DashboardServer> dashboard,
                        DashboardServer::Start(std::move(options)));
  if (!live_run.empty()) {
    TRIB_RETURN_IF_ERROR(
        WriteFileAtomically(live_run + "/dashboard.port", absl::StrCat(dashboard->port(), "\n")));
  }
  const std::string host =
      listen.first == "0.0.0.0" || listen.first.empty() ? "HOSTNAME" : listen.first;
  LogInfo("dashboard: http://%s:%d/%s", host.c_str(), dashboard->port(),
          flags.token.empty() && flags.token_file.empty() ? "" : "?token=...");
  return dashboard;
}

}  // namespace tributary
