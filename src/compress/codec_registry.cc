#include "compress/codec_registry.h"

#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_util.h"
#include "compress/arith_codec.h"
#include "compress/fp32_codec.h"
#include "compress/grid_codec.h"
#include "compress/half_codecs.h"
#include "compress/kmeans_codec.h"
#include "compress/powersgd_codec.h"
#include "compress/qsgd_codec.h"
#include "compress/randk_selector.h"
#include "compress/sign_codec.h"
#include "compress/sketch_codec.h"
#include "compress/terngrad_codec.h"
#include "compress/threshold_selector.h"
#include "compress/topk_selector.h"
#include "compress/zstd_codec.h"

namespace tributary {
namespace {

using Factory = std::function<absl::StatusOr<CodecStage>(CodecParams&)>;

CodecStage SelectorStage(std::unique_ptr<Selector> selector) {
  CodecStage stage;
  stage.selector = std::move(selector);
  return stage;
}
CodecStage ValueStage(std::unique_ptr<ValueCodec> values) {
  CodecStage stage;
  stage.values = std::move(values);
  return stage;
}
CodecStage ByteStage(std::unique_ptr<ByteCodec> bytes) {
  CodecStage stage;
  stage.bytes = std::move(bytes);
  return stage;
}

absl::StatusOr<CodecStage> MakeTopK(CodecParams& p) {
  TRIB_ASSIGN_OR_RETURN(double ratio, p.Number("ratio", 0.0, 0.0, 1.0));
  TRIB_ASSIGN_OR_RETURN(int k, p.Integer("k", 0, 0, 1 << 30));
  if ((ratio > 0.0) == (k > 0)) {
    return absl::InvalidArgumentError("codec 'topk': give exactly one of ratio (0, 1] or k >= 1");
  }
  return SelectorStage(std::make_unique<TopKSelector>(ratio, k));
}

absl::StatusOr<CodecStage> MakeRandK(CodecParams& p) {
  TRIB_ASSIGN_OR_RETURN(double ratio, p.Number("ratio", 0.0, 0.0, 1.0));
  if (ratio <= 0.0) return absl::InvalidArgumentError("codec 'randk': ratio must be in (0, 1]");
  return SelectorStage(std::make_unique<RandKSelector>(ratio));
}

absl::StatusOr<CodecStage> MakeQsgd(CodecParams& p) {
  TRIB_ASSIGN_OR_RETURN(int bits, p.Integer("bits", 4, 2, 8));
  TRIB_ASSIGN_OR_RETURN(std::string norm, p.Word("norm", "l2"));
  TRIB_ASSIGN_OR_RETURN(int bucket, p.Integer("bucket", 512, 0, 1 << 24));
  if (norm != "max" && norm != "l2") {
    return absl::InvalidArgumentError("codec 'qsgd': norm must be max or l2");
  }
  if (bucket % 8 != 0) {
    return absl::InvalidArgumentError(
        "codec 'qsgd': bucket must be 0 (one bucket) or a multiple of 8");
  }
  return ValueStage(std::make_unique<QsgdCodec>(bits, norm == "l2", static_cast<size_t>(bucket)));
}

absl::StatusOr<CodecStage> MakeTernGrad(CodecParams& p) {
  TRIB_ASSIGN_OR_RETURN(double clip, p.Number("clip", 2.5, 0.0, 1e6));
  TRIB_ASSIGN_OR_RETURN(std::string scale, p.Word("scale", "tensor"));
  if (scale != "tensor" && scale != "vector") {
    return absl::InvalidArgumentError("codec 'terngrad': scale must be tensor or vector");
  }
  return ValueStage(std::make_unique<TernGradCodec>(clip, scale == "tensor"));
}

absl::StatusOr<CodecStage> MakeThreshold(CodecParams& p) {
  TRIB_ASSIGN_OR_RETURN(double tau, p.Number("tau", -1.0, 0.0, 1e30));
  if (tau < 0.0) return absl::InvalidArgumentError("codec 'threshold': give tau >= 0");
  return SelectorStage(std::make_unique<ThresholdSelector>(tau));
}

absl::StatusOr<CodecStage> MakeKMeans(CodecParams& p) {
  TRIB_ASSIGN_OR_RETURN(int centroids, p.Integer("centroids", 16, 2, 256));
  return ValueStage(std::make_unique<KMeansCodec>(centroids));
}

absl::StatusOr<CodecStage> MakePowerSgd(CodecParams& p) {
  TRIB_ASSIGN_OR_RETURN(int rank, p.Integer("rank", 4, 1, 1024));
  return ValueStage(std::make_unique<PowerSgdCodec>(rank));
}

absl::StatusOr<CodecStage> MakeSketch(CodecParams& p) {
  TRIB_ASSIGN_OR_RETURN(int rows, p.Integer("rows", 5, 1, 64));
  TRIB_ASSIGN_OR_RETURN(int cols, p.Integer("cols", 0, 0, 1 << 30));
  TRIB_ASSIGN_OR_RETURN(double ratio, p.Number("ratio", 0.0, 0.0, 1.0));
  TRIB_ASSIGN_OR_RETURN(int k, p.Integer("k", 0, 0, 1 << 30));
  if (cols < 1) return absl::InvalidArgumentError("codec 'sketch': give cols >= 1");
  if ((ratio > 0.0) == (k > 0)) {
    return absl::InvalidArgumentError(
        "codec 'sketch': give exactly one of ratio (0, 1] or k >= 1 (coordinates unsketched)");
  }
  return ValueStage(std::make_unique<SketchCodec>(rows, cols, ratio, k));
}

absl::StatusOr<CodecStage> MakeGrid(CodecParams& p) {
  TRIB_ASSIGN_OR_RETURN(int exp, p.Integer("exp", -1, 0, 40));
  if (exp < 0) return absl::InvalidArgumentError("codec 'grid': give exp (step 2^-exp), 0 to 40");
  return ValueStage(std::make_unique<GridCodec>(exp));
}

absl::StatusOr<CodecStage> MakeZstd(CodecParams& p) {
  TRIB_ASSIGN_OR_RETURN(int level, p.Integer("level", 3, 1, 19));
  return ByteStage(std::make_unique<ZstdCodec>(level));
}

const std::map<std::string, Factory>& Registry() {
  static const std::map<std::string, Factory> registry = {
      {"topk", MakeTopK},
      {"randk", MakeRandK},
      {"fp32",
       [](CodecParams&) -> absl::StatusOr<CodecStage> {
         return ValueStage(std::make_unique<Fp32Codec>());
       }},
      {"fp16",
       [](CodecParams&) -> absl::StatusOr<CodecStage> {
         return ValueStage(std::make_unique<Fp16Codec>());
       }},
      {"bf16",
       [](CodecParams&) -> absl::StatusOr<CodecStage> {
         return ValueStage(std::make_unique<Bf16Codec>());
       }},
      {"qsgd", MakeQsgd},
      {"terngrad", MakeTernGrad},
      {"sign",
       [](CodecParams&) -> absl::StatusOr<CodecStage> {
         return ValueStage(std::make_unique<SignCodec>());
       }},
      {"grid", MakeGrid},
      {"kmeans", MakeKMeans},
      {"powersgd", MakePowerSgd},
      {"threshold", MakeThreshold},
      {"sparse",
       [](CodecParams&) -> absl::StatusOr<CodecStage> {
         return SelectorStage(std::make_unique<NonZeroSelector>());
       }},
      {"sketch", MakeSketch},
      {"zstd", MakeZstd},
      {"arith",
       [](CodecParams&) -> absl::StatusOr<CodecStage> {
         return ByteStage(std::make_unique<ArithCodec>());
       }},
  };
  return registry;
}

}  // namespace

absl::StatusOr<CodecStage> MakeCodecStage(CodecParams& params) {
  auto it = Registry().find(params.name());
  if (it == Registry().end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown codec '", params.name(),
                     "' (registered: ", absl::StrJoin(RegisteredCodecStages(), ", "), ")"));
  }
  TRIB_ASSIGN_OR_RETURN(CodecStage stage, it->second(params));
  TRIB_RETURN_IF_ERROR(params.CheckAllUsed());
  return stage;
}

std::vector<std::string> RegisteredCodecStages() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : Registry()) names.push_back(name);
  return names;
}

}  // namespace tributary
