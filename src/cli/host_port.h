// "HOST:PORT" arguments of the commands that listen.
#ifndef TRIBUTARY_CLI_HOST_PORT_H_
#define TRIBUTARY_CLI_HOST_PORT_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"

namespace tributary {

// "HOST:PORT" -> (host, port); the port may be 0 (any free port).
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& address);

// As SplitHostPort, but a bare "PORT" means 127.0.0.1:PORT (--dashboard 8050).
absl::StatusOr<std::pair<std::string, int>> SplitListenAddress(const std::string& address);

}  // namespace tributary

#endif  // TRIBUTARY_CLI_HOST_PORT_H_
