// Parameters of one pipeline stage, parsed from "name:key=value,key=value". Every key must be
// consumed by the stage's factory; leftovers are reported as unknown parameters.
#ifndef TRIBUTARY_COMPRESS_CODEC_PARAMS_H_
#define TRIBUTARY_COMPRESS_CODEC_PARAMS_H_

#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tributary {

class CodecParams {
 public:
  // Parses "name" or "name:key=value,...".
  static absl::StatusOr<CodecParams> Parse(std::string_view stage);

  const std::string& name() const { return name_; }
  // Reads and consumes a parameter, or returns `fallback` when absent; errors name the stage.
  absl::StatusOr<double> Number(const std::string& key, double fallback, double min, double max);
  absl::StatusOr<int> Integer(const std::string& key, int fallback, int min, int max);
  absl::StatusOr<std::string> Word(const std::string& key, const std::string& fallback);
  // Error when a parameter was not consumed.
  absl::Status CheckAllUsed() const;

 private:
  std::string name_;
  std::map<std::string, std::string> values_;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_CODEC_PARAMS_H_
