// The State of the Union corpus as an experiment's data: BPE-tokenized addresses cut into
// next-token windows of model.context + 1 tokens. Each training window's natural owner is the
// address's president (data.partition = natural), and the validation split is every tenth
// address (IsValidationSpeech).
#ifndef TRIBUTARY_ENGINE_DATASETS_SOTU_DATASET_H_
#define TRIBUTARY_ENGINE_DATASETS_SOTU_DATASET_H_

#include <memory>

#include "absl/status/statusor.h"
#include "data/tokenizer.h"
#include "engine/dataset.h"
#include "engine/experiment.h"
#include "engine/experiment_data.h"

namespace tributary {

// The tokenizer of every sotu experiment with this vocabulary size: trained on the training
// addresses of all years (so runs over different years share it), cached in data.cache_dir.
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadSotuTokenizer(const ExperimentConfig& config);

// Windows of the addresses in [data.min_year, data.max_year]; fills model.num_classes with the
// vocabulary size. data.max_test_examples keeps that many validation windows spread evenly over
// the validation addresses.
absl::StatusOr<ExperimentData> LoadSotuExperimentData(const ExperimentConfig& config);

// data.dataset = "sotu": language modelling with model.name = "gpt".
class SotuDataset final : public Dataset {
 public:
  std::string_view name() const override { return "sotu"; }
  bool text() const override { return true; }
  absl::Status Validate(const ExperimentConfig& config) const override;
  absl::StatusOr<ExperimentData> Load(const ExperimentConfig& config) const override {
    return LoadSotuExperimentData(config);
  }
};

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_DATASETS_SOTU_DATASET_H_
