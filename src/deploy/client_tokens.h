// The server's table of client bearer tokens (and that of a process hosting many clients), from a
// file of "CLIENT_ID TOKEN" lines (blank lines and lines starting with '#' ignored). Tokens are
// compared in constant time.
//
// Thread-safety: immutable after Load().
#ifndef TRIBUTARY_DEPLOY_CLIENT_TOKENS_H_
#define TRIBUTARY_DEPLOY_CLIENT_TOKENS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/statusor.h"

namespace tributary {

class ClientTokens {
 public:
  // Fails on a malformed line, a duplicate id, an id >= num_clients or a token shorter than 16
  // characters (a guessable token is no authentication).
  static absl::StatusOr<ClientTokens> Parse(std::string_view text, uint32_t num_clients);
  static absl::StatusOr<ClientTokens> Load(const std::string& path, uint32_t num_clients);

  // True when `token` is `client`'s token.
  bool Check(uint32_t client, std::string_view token) const;
  // `client`'s token, or null (a process hosting many clients reads theirs from such a file).
  const std::string* Find(uint32_t client) const;
  size_t size() const { return tokens_.size(); }

 private:
  std::unordered_map<uint32_t, std::string> tokens_;
};

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_CLIENT_TOKENS_H_
