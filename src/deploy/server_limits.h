// ServerLimits: what the coordinator's gRPC server lets a connection, a client and a call hold,
// and for how long (docs/reliability.md). The defaults leave an honest client on a slow link
// far inside every limit.
#ifndef TRIBUTARY_DEPLOY_SERVER_LIMITS_H_
#define TRIBUTARY_DEPLOY_SERVER_LIMITS_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"

namespace tributary {

struct ServerLimits {
  // Calls one client may hold at once: its poll, its upload, its heartbeat, a registration,
  // and the stale poll and upload of a connection it lost but the server has not noticed yet.
  int max_calls_per_client = 6;
  // Calls the whole server may hold at once; 0: 2 per federation client plus 16.
  int max_calls_total = 0;
  int max_streams_per_connection = 8;       // HTTP/2 streams open at once on one connection
  double first_message_seconds = 10.0;      // an upload's header must arrive within this
  double stream_idle_seconds = 60.0;        // a transfer that moves no chunk this long is cut off
  double keepalive_seconds = 20.0;          // a silent connection is pinged after this ...
  double keepalive_timeout_seconds = 10.0;  // ... and closed without an answer within this
  double connection_idle_seconds = 300.0;   // a connection without any call is closed after this
  double handshake_seconds = 10.0;          // TLS and HTTP/2 set-up of a new connection

  absl::Status Validate() const;
  int MaxCallsTotal(int num_clients) const;
};

// Sets the connection-level limits (streams, keepalive, idle, handshake) on the builder; the
// call-level ones are CoordinatorService's.
void ApplyServerLimits(const ServerLimits& limits, int num_clients, grpc::ServerBuilder& builder);

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_SERVER_LIMITS_H_
