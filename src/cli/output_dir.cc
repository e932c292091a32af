#include "cli/output_dir.h"

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace tributary {

absl::Status PrepareOutputDir(const std::string& dir, bool overwrite) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (fs::exists(dir / fs::path("metrics.jsonl"), error) && !overwrite) {
    return absl::AlreadyExistsError(absl::StrCat(
        "output folder ", dir, " already holds a run; pass --overwrite or choose another --out"));
  }
  fs::create_directories(dir, error);
  if (error)
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  return absl::OkStatus();
}

}  // namespace tributary
