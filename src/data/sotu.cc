#include "data/sotu.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_util.h"

namespace tributary {
namespace {

absl::StatusOr<Speech> ParseSpeech(const std::string& path) {
  TRIB_ASSIGN_OR_RETURN(std::string contents, ReadFile(path));
  const nlohmann::json json = nlohmann::json::parse(contents, nullptr, /*allow_exceptions=*/false);
  auto is = [&](const char* key, auto check) { return json.contains(key) && check(json[key]); };
  if (!json.is_object() || !is("year", [](auto& v) { return v.is_number_integer(); }) ||
      !is("name", [](auto& v) { return v.is_string(); }) ||
      !is("text", [](auto& v) { return v.is_string(); })) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": expected a JSON object with integer 'year' and string 'name' and "
                     "'text'"));
  }
  Speech speech;
  speech.year = json["year"].get<int>();
  speech.president = json["name"].get<std::string>();
  if (json.contains("party") && json["party"].is_string()) {
    speech.party = json["party"].get<std::string>();
  }
  speech.text = json["text"].get<std::string>();
  if (speech.text.empty() || speech.president.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": empty name or text"));
  }
  return speech;
}

}  // namespace

absl::StatusOr<std::vector<Speech>> LoadSotu(const std::string& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    return absl::NotFoundError(absl::StrCat("State of the Union corpus not found in ", dir, " (",
                                            ec.message(), "); run scripts/setup.sh"));
  }
  std::vector<std::string> paths;
  for (const auto& entry : it) {
    if (entry.path().extension() == ".json") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<Speech> speeches;
  for (const std::string& path : paths) {
    TRIB_ASSIGN_OR_RETURN(Speech speech, ParseSpeech(path));
    speeches.push_back(std::move(speech));
  }
  if (speeches.empty()) {
    return absl::NotFoundError(absl::StrCat("no .json addresses in ", dir));
  }
  std::stable_sort(speeches.begin(), speeches.end(), [](const Speech& a, const Speech& b) {
    return std::tie(a.year, a.president) < std::tie(b.year, b.president);
  });
  return speeches;
}

bool IsValidationSpeech(size_t position) { return position % 10 == 9; }

}  // namespace tributary
