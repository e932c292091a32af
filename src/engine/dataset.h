// Dataset: what an experiment trains on (data.dataset). Each lives in its own file pair under
// engine/datasets/ with one line in dataset_registry.cc; nothing else tests a dataset's name.
#ifndef TRIBUTARY_ENGINE_DATASET_H_
#define TRIBUTARY_ENGINE_DATASET_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "engine/experiment.h"
#include "engine/experiment_data.h"

namespace tributary {

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual std::string_view name() const = 0;
  // Token windows for next-token prediction, rather than labelled examples: runs report
  // perplexity and tokens trained, and the model is a language model.
  virtual bool text() const = 0;
  // What the dataset asks of the rest of the config (its model; techniques it cannot serve).
  virtual absl::Status Validate(const ExperimentConfig& config) const = 0;
  // Both splits, the training split partitioned into the federation's clients, and the model
  // with the data's input shape and class count.
  virtual absl::StatusOr<ExperimentData> Load(const ExperimentConfig& config) const = 0;
  // What one party needs (DataScope). By default everything is loaded, then narrowed; a dataset
  // that can read less overrides this.
  virtual absl::StatusOr<ExperimentData> LoadFor(const ExperimentConfig& config,
                                                 const DataScope& scope) const {
    TRIB_ASSIGN_OR_RETURN(ExperimentData data, Load(config));
    return NarrowToScope(std::move(data), scope);
  }
};

// What a text dataset (`name`) asks of the config: a language model (gpt, or a torchscript one)
// and no per-client holdout.
inline absl::Status ValidateTextRun(const ExperimentConfig& config, std::string_view name) {
  if (config.model.name != "gpt" && config.model.name != "torchscript") {
    return absl::InvalidArgumentError(
        absl::StrCat("data.dataset = ", std::string(name),
                     " goes with model.name = gpt (or a torchscript language model)"));
  }
  if (config.data.client_holdout > 0.0) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(name), " runs do not support data.client_holdout"));
  }
  return absl::OkStatus();
}

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_DATASET_H_
