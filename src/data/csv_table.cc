#include "data/csv_table.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace tributary {
namespace {

absl::string_view Unquoted(absl::string_view field) {
  field = absl::StripAsciiWhitespace(field);
  if (field.size() >= 2 && field.front() == '"' && field.back() == '"') {
    field = field.substr(1, field.size() - 2);
  }
  return field;
}

bool ParseNumber(absl::string_view text, double* value) {
  text = Unquoted(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

}  // namespace

absl::StatusOr<LabeledArrays> ReadLabeledCsv(const std::string& path,
                                             const std::string& label_column,
                                             const std::string& client_column) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::string line;
  if (!std::getline(in, line)) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is empty (a header row is needed)"));
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const std::vector<absl::string_view> header = absl::StrSplit(line, ',');
  int label = -1, client = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    if (Unquoted(header[i]) == label_column) label = static_cast<int>(i);
    if (!client_column.empty() && Unquoted(header[i]) == client_column) {
      client = static_cast<int>(i);
    }
  }
  if (label < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": the header has no '", label_column, "' column (data.label_column)"));
  }
  const size_t columns = header.size();
  const size_t features = columns - 1 - (client >= 0 ? 1 : 0);
  if (features == 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no feature columns"));
  }
  LabeledArrays arrays;
  arrays.example_shape = {static_cast<int64_t>(features)};
  int64_t line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    const std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    if (fields.size() != columns) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_number, ": ", fields.size(),
                                                     " fields, the header has ", columns));
    }
    for (size_t i = 0; i < columns; ++i) {
      double value = 0.0;
      if (!ParseNumber(fields[i], &value) || !std::isfinite(value)) {
        return absl::InvalidArgumentError(absl::StrCat(path, ":", line_number, ": column '",
                                                       Unquoted(header[i]), "' value '", fields[i],
                                                       "' is not a finite number"));
      }
      if (static_cast<int>(i) == label || static_cast<int>(i) == client) {
        if (value != std::floor(value) || std::abs(value) > 9.0e15) {
          return absl::InvalidArgumentError(absl::StrCat(path, ":", line_number, ": column '",
                                                         Unquoted(header[i]),
                                                         "' must hold integers, got ", fields[i]));
        }
        (static_cast<int>(i) == label ? arrays.labels : arrays.clients)
            .push_back(static_cast<int64_t>(value));
      } else {
        arrays.features.push_back(static_cast<float>(value));
      }
    }
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("reading ", path, " failed"));
  if (arrays.size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, " has a header but no rows"));
  }
  return arrays;
}

}  // namespace tributary
