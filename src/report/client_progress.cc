#include "report/client_progress.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "report/progress_printer.h"

namespace tributary {

const char* ClientPhaseName(ClientPhase phase) {
  switch (phase) {
    case ClientPhase::kWaiting:
      return "waiting";
    case ClientPhase::kDownload:
      return "download";
    case ClientPhase::kSecureAggregation:
      return "secure aggregation";
    case ClientPhase::kTrain:
      return "train";
    case ClientPhase::kUpload:
      return "upload";
  }
  return "?";
}

std::string FormatClientProgress(const ClientProgress& p) {
  if (p.phase == ClientPhase::kWaiting) {
    return p.round == 0 ? absl::StrFormat("client %u  waiting to be selected", p.client)
                        : absl::StrFormat("client %u  round %d done, waiting to be selected",
                                          p.client, p.round);
  }
  std::string line =
      absl::StrFormat("client %u  round %d  %s", p.client, p.round, ClientPhaseName(p.phase));
  if (p.phase == ClientPhase::kDownload || p.phase == ClientPhase::kUpload) {
    const double rate = p.phase_seconds > 0.0 ? p.bytes_done / p.phase_seconds : 0.0;
    absl::StrAppend(
        &line, absl::StrFormat("  %s / %s  %s/s  %.1f s", FormatBytes(p.bytes_done),
                               FormatBytes(p.bytes_total), FormatBytes(static_cast<int64_t>(rate)),
                               p.phase_seconds));
  }
  return line;
}

}  // namespace tributary
