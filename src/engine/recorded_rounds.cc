#include "engine/recorded_rounds.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_util.h"

namespace tributary {

absl::StatusOr<std::map<int, RecordedRound>> ReadRecordedRounds(const std::string& path) {
  TRIB_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::map<int, RecordedRound> rounds;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (line.empty()) continue;
    const std::string where = absl::StrCat(path, ":", number, ": ");
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("round") ||
        !j["round"].is_number_integer()) {
      return absl::InvalidArgumentError(where + "not a round's metrics");
    }
    const int64_t round = j["round"].get<int64_t>();
    if (round == 0) continue;
    if (round < 0 || round > 10000000) {
      return absl::InvalidArgumentError(absl::StrCat(where, "round ", round, " out of range"));
    }
    if (!j.contains("accepted_clients") || !j["accepted_clients"].is_array()) {
      return absl::InvalidArgumentError(
          where + "no accepted_clients (written by tributary since this field exists)");
    }
    RecordedRound recorded;
    for (const nlohmann::json& id : j["accepted_clients"]) {
      if (!id.is_number_unsigned() || id.get<uint64_t>() > UINT32_MAX) {
        return absl::InvalidArgumentError(where + "a client id is not an unsigned 32-bit number");
      }
      recorded.accepted_clients.push_back(id.get<uint32_t>());
    }
    if (!std::is_sorted(recorded.accepted_clients.begin(), recorded.accepted_clients.end()) ||
        std::adjacent_find(recorded.accepted_clients.begin(), recorded.accepted_clients.end()) !=
            recorded.accepted_clients.end()) {
      return absl::InvalidArgumentError(where + "accepted_clients not strictly ascending");
    }
    if (j.contains("expected_weight")) {
      if (!j["expected_weight"].is_number_integer() || j["expected_weight"].get<int64_t>() < 0) {
        return absl::InvalidArgumentError(where + "expected_weight is not a count");
      }
      recorded.expected_weight = j["expected_weight"].get<int64_t>();
    }
    if (!rounds.emplace(static_cast<int>(round), std::move(recorded)).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, "round ", round, " recorded twice"));
    }
  }
  return rounds;
}

}  // namespace tributary
