#include "compress/codec_params.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tributary {

absl::StatusOr<CodecParams> CodecParams::Parse(std::string_view stage) {
  CodecParams params;
  const std::string text(stage);
  const size_t colon = text.find(':');
  params.name_ = text.substr(0, colon);
  if (params.name_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("codec stage '", text, "' has no name"));
  }
  if (colon == std::string::npos) return params;
  for (absl::string_view piece : absl::StrSplit(text.substr(colon + 1), ',')) {
    const std::string pair(piece);
    const size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("codec '", params.name_, "': parameter '", pair, "' is not key=value"));
    }
    if (!params.values_.emplace(pair.substr(0, eq), pair.substr(eq + 1)).second) {
      return absl::InvalidArgumentError(absl::StrCat("codec '", params.name_, "': parameter '",
                                                     pair.substr(0, eq), "' given twice"));
    }
  }
  return params;
}

absl::StatusOr<double> CodecParams::Number(const std::string& key, double fallback, double min,
                                           double max) {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  const std::string text = it->second;
  values_.erase(it);
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !std::isfinite(value) || value < min || value > max) {
    return absl::InvalidArgumentError(absl::StrCat("codec '", name_, "': ", key,
                                                   " must be a number in [", min, ", ", max,
                                                   "], got '", text, "'"));
  }
  return value;
}

absl::StatusOr<int> CodecParams::Integer(const std::string& key, int fallback, int min, int max) {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  const std::string text = it->second;
  values_.erase(it);
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || value < min || value > max) {
    return absl::InvalidArgumentError(absl::StrCat("codec '", name_, "': ", key,
                                                   " must be an integer in [", min, ", ", max,
                                                   "], got '", text, "'"));
  }
  return static_cast<int>(value);
}

absl::StatusOr<std::string> CodecParams::Word(const std::string& key, const std::string& fallback) {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  std::string value = it->second;
  values_.erase(it);
  return value;
}

absl::Status CodecParams::CheckAllUsed() const {
  if (values_.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("codec '", name_, "': unknown parameter '", values_.begin()->first, "'"));
}

}  // namespace tributary
