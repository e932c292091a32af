// How a failed command reports itself: the message on stderr and an exit code that tells bad
// input (2) from a failure while running (1).
#ifndef TRIBUTARY_CLI_EXIT_CODE_H_
#define TRIBUTARY_CLI_EXIT_CODE_H_

#include "absl/status/status.h"

namespace tributary {

// Prints "error: <message>" to stderr and returns the exit code for `status` (not OK).
int Fail(const absl::Status& status);

}  // namespace tributary

#endif  // TRIBUTARY_CLI_EXIT_CODE_H_
