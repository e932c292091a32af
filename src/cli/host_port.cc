#include "cli/host_port.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tributary {

absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("expected HOST:PORT, got \"", address, "\""));
  }
  return std::make_pair(address.substr(0, colon), port);
}

absl::StatusOr<std::pair<std::string, int>> SplitListenAddress(const std::string& address) {
  if (address.find(':') == std::string::npos) return SplitHostPort("127.0.0.1:" + address);
  return SplitHostPort(address);
}

}  // namespace tributary
