// Where a deployed client is in its round, and the progress line `tributary client` shows for
// it on a terminal: round, phase, bytes moved of the transfer's total, rate.
#ifndef TRIBUTARY_REPORT_CLIENT_PROGRESS_H_
#define TRIBUTARY_REPORT_CLIENT_PROGRESS_H_

#include <cstdint>
#include <string>

namespace tributary {

enum class ClientPhase { kWaiting, kDownload, kSecureAggregation, kTrain, kUpload };
const char* ClientPhaseName(ClientPhase phase);

struct ClientProgress {
  uint32_t client = 0;
  int round = 0;  // the round in progress; while waiting, the last one taken part in (0: none)
  ClientPhase phase = ClientPhase::kWaiting;
  int64_t bytes_done = 0;  // download and upload
  int64_t bytes_total = 0;
  double phase_seconds = 0.0;  // since the transfer began
};

// "client 3  round 12  download  3.20 MB / 7.38 MB  6.40 MB/s  0.5 s"; phases other than the
// transfers (which block without reporting) show only their name.
std::string FormatClientProgress(const ClientProgress& progress);

}  // namespace tributary

#endif  // TRIBUTARY_REPORT_CLIENT_PROGRESS_H_
