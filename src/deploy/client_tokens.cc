#include "deploy/client_tokens.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/status_util.h"

namespace tributary {

constexpr size_t kMinTokenLength = 16;

absl::StatusOr<ClientTokens> ClientTokens::Parse(std::string_view text, uint32_t num_clients) {
  ClientTokens table;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    uint32_t id = 0;
    if (fields.size() != 2 || !absl::SimpleAtoi(fields[0], &id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokens line ", line_number, ": expected \"CLIENT_ID TOKEN\""));
    }
    if (id >= num_clients) {
      return absl::InvalidArgumentError(absl::StrCat("tokens line ", line_number, ": client id ",
                                                     id, " >= data.num_clients ", num_clients));
    }
    if (fields[1].size() < kMinTokenLength) {
      return absl::InvalidArgumentError(absl::StrCat("tokens line ", line_number, ": token of ",
                                                     fields[1].size(), " characters; use at least ",
                                                     kMinTokenLength));
    }
    if (!table.tokens_.emplace(id, std::string(fields[1])).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokens line ", line_number, ": client ", id, " listed twice"));
    }
  }
  return table;
}

absl::StatusOr<ClientTokens> ClientTokens::Load(const std::string& path, uint32_t num_clients) {
  TRIB_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  absl::StatusOr<ClientTokens> table = Parse(text, num_clients);
  if (!table.ok())
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", table.status().message()));
  return table;
}

const std::string* ClientTokens::Find(uint32_t client) const {
  auto it = tokens_.find(client);
  return it == tokens_.end() ? nullptr : &it->second;
}

bool ClientTokens::Check(uint32_t client, std::string_view token) const {
  auto it = tokens_.find(client);
  if (it == tokens_.end()) return false;
  const std::string& expected = it->second;
  // Every byte is compared whatever the first difference, so timing reveals only the length.
  unsigned char difference = expected.size() == token.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    difference |= static_cast<unsigned char>(expected[i]) ^
                  static_cast<unsigned char>(i < token.size() ? token[i] : 0);
  }
  return difference == 0;
}

}  // namespace tributary
