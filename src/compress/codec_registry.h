// The registry of pipeline stages by name: one line per codec in codec_registry.cc.
#ifndef TRIBUTARY_COMPRESS_CODEC_REGISTRY_H_
#define TRIBUTARY_COMPRESS_CODEC_REGISTRY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "compress/codec_params.h"
#include "compress/codec_stage.h"

namespace tributary {

// One stage built from its parameters; exactly one of the three is set.
struct CodecStage {
  std::unique_ptr<Selector> selector;
  std::unique_ptr<ValueCodec> values;
  std::unique_ptr<ByteCodec> bytes;
};

absl::StatusOr<CodecStage> MakeCodecStage(CodecParams& params);
std::vector<std::string> RegisteredCodecStages();

}  // namespace tributary

#endif  // TRIBUTARY_COMPRESS_CODEC_REGISTRY_H_
