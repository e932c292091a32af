// The server's live metrics over HTTP, in Prometheus' text exposition format (GET /metrics).
//
// Thread-safety: serves from its own thread; reads only the counters' atomics.
#ifndef TRIBUTARY_DEPLOY_METRICS_ENDPOINT_H_
#define TRIBUTARY_DEPLOY_METRICS_ENDPOINT_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "deploy/coordinator.h"

namespace httplib {
class Server;
}

namespace tributary {

// The exposition text for the counters.
std::string PrometheusText(const CoordinatorCounters& counters);

class MetricsEndpoint {
 public:
  // Listens on `host`:`port` (port 0: any free port).
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const CoordinatorCounters& counters,
                                                                const std::string& host, int port);
  ~MetricsEndpoint();
  int port() const { return port_; }

 private:
  MetricsEndpoint() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_METRICS_ENDPOINT_H_
