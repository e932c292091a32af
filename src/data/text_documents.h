// Text for language-model runs from a user's files: a folder of .txt files (one document each,
// owned by its file) or a JSONL file (one JSON object per line, with a text field and an
// optional owner field).
#ifndef TRIBUTARY_DATA_TEXT_DOCUMENTS_H_
#define TRIBUTARY_DATA_TEXT_DOCUMENTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tributary {

struct TextDocument {
  std::string text;
  std::string owner;  // file name, or the JSONL owner field's value ("" when absent)
};

// Files of a folder are read in sorted name order (*.txt only); JSONL errors name the line.
absl::StatusOr<std::vector<TextDocument>> ReadTextDocuments(const std::string& path,
                                                            const std::string& text_field,
                                                            const std::string& owner_field);

}  // namespace tributary

#endif  // TRIBUTARY_DATA_TEXT_DOCUMENTS_H_
