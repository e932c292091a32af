// Files compiled into the binary (cmake/embed_files.cmake): the dashboard's web page.
#ifndef TRIBUTARY_DASHBOARD_EMBEDDED_FILES_H_
#define TRIBUTARY_DASHBOARD_EMBEDDED_FILES_H_

#include <string_view>
#include <vector>

namespace tributary {

struct EmbeddedFile {
  std::string_view name;  // "index.html", "uPlot.iife.min.js", ...
  std::string_view bytes;
};

const std::vector<EmbeddedFile>& EmbeddedFiles();

}  // namespace tributary

#endif  // TRIBUTARY_DASHBOARD_EMBEDDED_FILES_H_
