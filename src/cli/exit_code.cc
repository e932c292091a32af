#include "cli/exit_code.h"

#include <cstdio>
#include <string>

namespace tributary {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "error: %s\n", std::string(status.message()).c_str());
  const bool bad_input = absl::IsInvalidArgument(status) || absl::IsNotFound(status) ||
                         absl::IsDataLoss(status) || absl::IsOutOfRange(status) ||
                         absl::IsAlreadyExists(status);
  return bad_input ? 2 : 1;
}

}  // namespace tributary
