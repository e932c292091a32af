// tributary dashboard: serves the dashboard of the runs under some folders until interrupted.
#include <pthread.h>
#include <signal.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/exit_code.h"
#include "cli/live_dashboard.h"
#include "common/log.h"
#include "common/status_util.h"

namespace tributary {
namespace {

absl::Status ServeDashboard(const DashboardCommandOptions& options) {
  for (const std::string& root : options.roots) {
    std::error_code error;
    if (!std::filesystem::is_directory(root, error)) {
      return absl::NotFoundError(absl::StrCat(root,
                                              " is not a folder (give run folders, or "
                                              "folders that hold runs)"));
    }
  }
  // Interrupts are taken by this thread (sigwait), not by the server's threads.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<DashboardServer> dashboard,
                        StartDashboard(options.flags, options.roots, "", nullptr));
  std::fflush(stdout);
  int signal = 0;
  sigwait(&stop_signals, &signal);
  LogInfo("dashboard: stopping (signal %d)", signal);
  return absl::OkStatus();
}

}  // namespace

int RunDashboardCommand(const DashboardCommandOptions& options) {
  absl::Status status = ServeDashboard(options);
  return status.ok() ? 0 : Fail(status);
}

}  // namespace tributary
