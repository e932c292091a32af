// A user's own text as an experiment's data (data.dataset = "text"): a folder of .txt files or
// a JSONL file at data.path, BPE-tokenized (data.vocab_size, the tokenizer trained on the
// training documents and cached like sotu's) and cut into next-token windows of
// model.context + 1 tokens. A window's owner is its document's file or JSONL owner field
// (data.client_column), for partition = natural.
#ifndef TRIBUTARY_ENGINE_DATASETS_TEXT_FILE_DATASET_H_
#define TRIBUTARY_ENGINE_DATASETS_TEXT_FILE_DATASET_H_

#include "engine/dataset.h"

namespace tributary {

class TextFileDataset final : public Dataset {
 public:
  std::string_view name() const override { return "text"; }
  bool text() const override { return true; }
  absl::Status Validate(const ExperimentConfig& config) const override;
  // The test split is data.test_path's documents, or a seeded data.test_fraction of the
  // documents (at least one).
  absl::StatusOr<ExperimentData> Load(const ExperimentConfig& config) const override;
};

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_DATASETS_TEXT_FILE_DATASET_H_
