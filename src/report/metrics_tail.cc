#include "report/metrics_tail.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace tributary {

absl::Status MetricsTail::Refresh() {
  std::error_code error;
  const uint64_t size = std::filesystem::file_size(path_, error);
  if (error) return absl::NotFoundError(absl::StrCat(path_, ": ", error.message()));
  if (size < offset_) {
    offset_ = 0;
    rows_.clear();
    bad_lines_ = 0;
  }
  if (size == offset_) return absl::OkStatus();
  std::FILE* file = std::fopen(path_.c_str(), "rb");
  if (file == nullptr) return absl::NotFoundError(absl::StrCat(path_, ": ", std::strerror(errno)));
  std::string appended(size - offset_, '\0');
  const bool read = std::fseek(file, static_cast<long>(offset_), SEEK_SET) == 0 &&
                    std::fread(appended.data(), 1, appended.size(), file) == appended.size();
  std::fclose(file);
  if (!read) return absl::DataLossError(absl::StrCat(path_, ": could not read"));

  size_t line_start = 0;
  for (size_t end; (end = appended.find('\n', line_start)) != std::string::npos;
       line_start = end + 1) {
    const std::string_view line(appended.data() + line_start, end - line_start);
    if (line.empty()) continue;
    nlohmann::json row = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (row.is_object() && row.contains("round") && row["round"].is_number_integer()) {
      rows_.push_back(std::move(row));
    } else {
      ++bad_lines_;
    }
  }
  offset_ += line_start;
  partial_line_ = line_start < appended.size();
  return absl::OkStatus();
}

}  // namespace tributary
