// For tests that drive the real binaries: runs a shell command and collects what it printed.
#ifndef TRIBUTARY_COMMON_TEST_SHELL_H_
#define TRIBUTARY_COMMON_TEST_SHELL_H_

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace tributary {

struct CommandResult {
  int exit_code = -1;  // 128 + the signal when it was killed; -1 when it could not start
  std::string output;  // stdout and stderr together
};

inline CommandResult RunShell(const std::string& command) {
  CommandResult result;
  std::FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace tributary

#endif  // TRIBUTARY_COMMON_TEST_SHELL_H_
