#include "deploy/server_limits.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace tributary {
namespace {

// Idle threads are cheap (a stack each); past this many, a large federation's server makes
// threads as it did before.
constexpr int kMaxIdleServerThreads = 256;

int Milliseconds(double seconds) { return static_cast<int>(std::lround(seconds * 1000.0)); }

absl::Status CheckSeconds(const char* name, double seconds) {
  // A day at most: gRPC takes milliseconds as an int.
  if (!(seconds > 0.0 && seconds <= 86400.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must be in (0, 86400] seconds, not ", seconds));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ServerLimits::Validate() const {
  if (max_calls_per_client < 2 || max_calls_per_client > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max calls per client must be in [2, 64] (a client polls and uploads at once), not ",
        max_calls_per_client));
  }
  if (max_calls_total < 0 || max_calls_total > 1000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("max calls in total must be in [0, 1000000], not ", max_calls_total));
  }
  if (max_streams_per_connection < 2 || max_streams_per_connection > 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max streams per connection must be in [2, 1024], not ", max_streams_per_connection));
  }
  for (auto [name, value] : {std::pair{"first-message timeout", first_message_seconds},
                             {"stream idle timeout", stream_idle_seconds},
                             {"keepalive", keepalive_seconds},
                             {"keepalive timeout", keepalive_timeout_seconds},
                             {"connection idle timeout", connection_idle_seconds},
                             {"handshake timeout", handshake_seconds}}) {
    if (absl::Status s = CheckSeconds(name, value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

int ServerLimits::MaxCallsTotal(int num_clients) const {
  if (max_calls_total > 0) return max_calls_total;
  const long long derived = 2LL * num_clients + 16;
  return static_cast<int>(std::min<long long>(derived, std::numeric_limits<int>::max() / 2));
}

void ApplyServerLimits(const ServerLimits& limits, int num_clients, grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, limits.max_streams_per_connection);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Milliseconds(limits.keepalive_seconds));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             Milliseconds(limits.keepalive_timeout_seconds));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Clients ping every 10 s (federated_client.cc); gRPC's default would answer pings that
  // frequent with GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             Milliseconds(limits.connection_idle_seconds));
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             Milliseconds(limits.handshake_seconds));
  // The service refuses calls past MaxCallsTotal itself (counted); the thread quota sits above
  // it so that those refusals, and unauthenticated calls, still find a thread.
  grpc::ResourceQuota quota("tributary-server");
  quota.SetMaxThreads(limits.MaxCallsTotal(num_clients) + 32);
  builder.SetResourceQuota(quota);
  // gRPC's sync server keeps at most 2 idle threads by default: every round, the threads the
  // clients' uploads ran on exited and their next long polls started new ones (about 6 thread
  // creations a round with 10 clients, deploy_bench). Each client holds about two calls at a
  // time (its long poll, then its upload), so that many idle threads are kept.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              std::clamp(2 * num_clients, 2, kMaxIdleServerThreads));
}

}  // namespace tributary
