#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/config_loader.h"
#include "cli/exit_code.h"
#include "common/status_util.h"
#include "engine/datasets/sotu_dataset.h"
#include "model/text_sampler.h"

namespace tributary {
namespace {

absl::Status Generate(const GenerateCommandOptions& options) {
  const std::string config_path =
      options.config_path.empty()
          ? (std::filesystem::path(options.model_path).parent_path() / "config.toml").string()
          : options.config_path;
  TRIB_ASSIGN_OR_RETURN(LoadedConfig loaded, LoadExperimentConfig(config_path, {}));
  ExperimentConfig& config = loaded.config;
  if (config.model.name != "gpt" || !IsTextRun(config)) {
    return absl::InvalidArgumentError(
        absl::StrCat(config_path, " is not a gpt run on sotu; generate needs a language model"));
  }
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, LoadSotuTokenizer(config));
  config.model.num_classes = tokenizer->vocab_size();
  TRIB_ASSIGN_OR_RETURN(ModelState model, LoadModelState(options.model_path));
  TRIB_ASSIGN_OR_RETURN(std::vector<int32_t> prompt, tokenizer->Encode(options.prompt));
  TRIB_ASSIGN_OR_RETURN(std::vector<int32_t> continuation,
                        SampleTokens(config.model, model, prompt,
                                     {.max_new_tokens = options.tokens,
                                      .temperature = options.temperature,
                                      .top_k = options.top_k,
                                      .seed = options.seed}));
  prompt.insert(prompt.end(), continuation.begin(), continuation.end());
  TRIB_ASSIGN_OR_RETURN(std::string text, tokenizer->Decode(prompt));
  std::printf("%s\n", text.c_str());
  return absl::OkStatus();
}

}  // namespace

int RunGenerateCommand(const GenerateCommandOptions& options) {
  absl::Status status = Generate(options);
  return status.ok() ? 0 : Fail(status);
}

}  // namespace tributary
