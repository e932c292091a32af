#include "data/image_folder.h"

#include <stb/stb_image.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tributary {
namespace {

namespace fs = std::filesystem;

bool IsImageFile(const fs::path& path) {
  static const char* kExtensions[] = {".png", ".jpg", ".jpeg", ".bmp",
                                      ".gif", ".tga", ".ppm",  ".pgm"};
  const std::string ext = absl::AsciiStrToLower(path.extension().string());
  return std::find_if(std::begin(kExtensions), std::end(kExtensions),
                      [&](const char* e) { return ext == e; }) != std::end(kExtensions);
}

std::vector<fs::path> SortedEntries(const fs::path& dir, bool directories) {
  std::vector<fs::path> entries;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    if (directories ? entry.is_directory() : (entry.is_regular_file() && IsImageFile(entry.path())))
      entries.push_back(entry.path());
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

}  // namespace

absl::StatusOr<LabeledArrays> ReadImageFolder(const std::string& root,
                                              std::vector<std::string>* classes, int* channels) {
  std::error_code error;
  if (!fs::is_directory(root, error)) {
    return absl::NotFoundError(absl::StrCat(root, " is not a folder"));
  }
  std::vector<std::string> found;
  std::vector<fs::path> class_dirs;
  try {
    class_dirs = SortedEntries(root, /*directories=*/true);
  } catch (const fs::filesystem_error& e) {
    return absl::InvalidArgumentError(absl::StrCat("reading ", root, ": ", e.what()));
  }
  for (const fs::path& dir : class_dirs) found.push_back(dir.filename().string());
  if (found.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(root, " needs one subfolder per class (at least 2), found ", found.size()));
  }
  if (classes->empty()) {
    *classes = found;
  } else if (*classes != found) {
    return absl::InvalidArgumentError(
        absl::StrCat(root, " has classes ", absl::StrJoin(found, ", "), "; the training split has ",
                     absl::StrJoin(*classes, ", ")));
  }
  LabeledArrays arrays;
  int width = 0, height = 0;
  for (size_t label = 0; label < class_dirs.size(); ++label) {
    std::vector<fs::path> files;
    try {
      files = SortedEntries(class_dirs[label], /*directories=*/false);
    } catch (const fs::filesystem_error& e) {
      return absl::InvalidArgumentError(
          absl::StrCat("reading ", class_dirs[label].string(), ": ", e.what()));
    }
    if (files.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("class folder ", class_dirs[label].string(), " has no images"));
    }
    for (const fs::path& file : files) {
      if (arrays.example_shape.empty()) {
        int w = 0, h = 0, c = 0;
        if (stbi_info(file.c_str(), &w, &h, &c) == 0) {
          return absl::InvalidArgumentError(
              absl::StrCat("cannot decode image ", file.string(), ": ", stbi_failure_reason()));
        }
        width = w;
        height = h;
        if (*channels == 0) *channels = c <= 2 ? 1 : 3;
        arrays.example_shape = {*channels, height, width};
      }
      int w = 0, h = 0, c = 0;
      std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
          stbi_load(file.c_str(), &w, &h, &c, *channels), stbi_image_free);
      if (pixels == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot decode image ", file.string(), ": ", stbi_failure_reason()));
      }
      if (w != width || h != height) {
        return absl::InvalidArgumentError(absl::StrCat("image ", file.string(), " is ", w, "x", h,
                                                       "; the others are ", width, "x", height,
                                                       " (resize them to one size)"));
      }
      // Interleaved HWC bytes to planar CHW floats.
      const size_t plane = static_cast<size_t>(width) * height;
      const size_t base = arrays.features.size();
      arrays.features.resize(base + plane * *channels);
      for (int ch = 0; ch < *channels; ++ch) {
        for (size_t p = 0; p < plane; ++p) {
          arrays.features[base + ch * plane + p] = pixels.get()[p * *channels + ch] / 255.0f;
        }
      }
      arrays.labels.push_back(static_cast<int64_t>(label));
    }
  }
  return arrays;
}

}  // namespace tributary
