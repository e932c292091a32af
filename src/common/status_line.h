// One line at the bottom of an interactive terminal that is rewritten in place (a client's
// progress); log lines printed meanwhile go above it. Off when stdout is not a terminal or logs
// go to a file. Implemented with the log (common/log.cc), which owns the terminal.
//
// Thread-safety: thread-safe.
#ifndef TRIBUTARY_COMMON_STATUS_LINE_H_
#define TRIBUTARY_COMMON_STATUS_LINE_H_

#include <string_view>

namespace tributary {

// Whether ShowStatusLine prints anything here.
bool StatusLineEnabled();
void ShowStatusLine(std::string_view text);
void ClearStatusLine();

}  // namespace tributary

#endif  // TRIBUTARY_COMMON_STATUS_LINE_H_
