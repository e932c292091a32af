#include "data/text_documents.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace tributary {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<std::vector<TextDocument>> ReadFolder(const fs::path& dir) {
  std::vector<fs::path> files;
  try {
    for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
      if (entry.is_regular_file() && entry.path().extension() == ".txt") {
        files.push_back(entry.path());
      }
    }
  } catch (const fs::filesystem_error& e) {
    return absl::InvalidArgumentError(absl::StrCat("reading ", dir.string(), ": ", e.what()));
  }
  std::sort(files.begin(), files.end());
  std::vector<TextDocument> documents;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return absl::DataLossError(absl::StrCat("cannot read ", file.string()));
    documents.push_back({text.str(), file.filename().string()});
  }
  return documents;
}

absl::StatusOr<std::vector<TextDocument>> ReadJsonLines(const std::string& path,
                                                        const std::string& text_field,
                                                        const std::string& owner_field) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::vector<TextDocument> documents;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    const nlohmann::json object = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const std::string where = absl::StrCat(path, ":", number);
    if (!object.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": not a JSON object"));
    }
    auto text = object.find(text_field);
    if (text == object.end() || !text->is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": no string field '", text_field, "' (data.text_field)"));
    }
    TextDocument document{text->get<std::string>(), ""};
    if (auto owner = object.find(owner_field); !owner_field.empty() && owner != object.end()) {
      if (!owner->is_string() && !owner->is_number_integer()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": field '", owner_field, "' must be a string or an integer"));
      }
      document.owner = owner->is_string() ? owner->get<std::string>() : owner->dump();
    }
    documents.push_back(std::move(document));
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("reading ", path, " failed"));
  return documents;
}

}  // namespace

absl::StatusOr<std::vector<TextDocument>> ReadTextDocuments(const std::string& path,
                                                            const std::string& text_field,
                                                            const std::string& owner_field) {
  std::error_code error;
  absl::StatusOr<std::vector<TextDocument>> documents =
      fs::is_directory(path, error) ? ReadFolder(path)
                                    : ReadJsonLines(path, text_field, owner_field);
  if (!documents.ok()) return documents.status();
  if (documents->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " holds no documents (a folder of .txt files or a JSONL file)"));
  }
  return documents;
}

}  // namespace tributary
