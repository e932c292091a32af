#include "engine/datasets/text_file_dataset.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "data/text_documents.h"
#include "data/tokenizer.h"
#include "engine/datasets/labeled_file_dataset.h"

namespace tributary {
namespace {

// Seeded choice of `fraction` of the documents (at least one, never all) for testing.
absl::Status HoldOutDocuments(std::vector<TextDocument>& train, std::vector<TextDocument>& test,
                              double fraction, uint64_t seed) {
  const size_t n = train.size();
  const size_t held = std::max<size_t>(1, static_cast<size_t>(std::llround(n * fraction)));
  if (held >= n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "holding out ", held, " of ", n,
        " documents for testing leaves none to train on (add documents or set data.test_path)"));
  }
  std::vector<uint32_t> order(n);
  for (uint32_t i = 0; i < n; ++i) order[i] = i;
  Rng rng = MakeRng(seed, 0, 0, RngPurpose::kTestSplit);
  Shuffle(order.data(), n, rng);
  std::sort(order.begin(), order.begin() + held);
  std::vector<bool> is_test(n, false);
  for (size_t i = 0; i < held; ++i) is_test[order[i]] = true;
  std::vector<TextDocument> kept;
  for (size_t i = 0; i < n; ++i) (is_test[i] ? test : kept).push_back(std::move(train[i]));
  train = std::move(kept);
  return absl::OkStatus();
}

}  // namespace

absl::Status TextFileDataset::Validate(const ExperimentConfig& config) const {
  TRIB_RETURN_IF_ERROR(
      ValidateDataFiles(config.data.files, "text", "a folder of .txt files or a JSONL file"));
  return ValidateTextRun(config, name());
}

absl::StatusOr<ExperimentData> TextFileDataset::Load(const ExperimentConfig& config) const {
  const FileDataOptions& files = config.data.files;
  TRIB_ASSIGN_OR_RETURN(std::vector<TextDocument> train,
                        ReadTextDocuments(files.path, files.text_field, files.client_column));
  std::vector<TextDocument> test;
  if (!files.test_path.empty()) {
    TRIB_ASSIGN_OR_RETURN(
        test, ReadTextDocuments(files.test_path, files.text_field, files.client_column));
  } else {
    TRIB_RETURN_IF_ERROR(HoldOutDocuments(train, test, files.test_fraction, config.run.seed));
  }
  std::vector<std::string> texts;
  for (const TextDocument& document : train) texts.push_back(document.text);
  TRIB_ASSIGN_OR_RETURN(
      std::unique_ptr<Tokenizer> tokenizer,
      Tokenizer::TrainOrLoadCached(texts, config.data.text.vocab_size, config.data.text.cache_dir));
  const size_t window = static_cast<size_t>(config.model.context) + 1;
  std::vector<int32_t> train_tokens, test_tokens;
  std::map<std::string, uint32_t> owner_index;  // by first appearance
  std::vector<uint32_t> owners;                 // of each training window
  for (const TextDocument& document : train) {
    TRIB_ASSIGN_OR_RETURN(std::vector<int32_t> tokens, tokenizer->Encode(document.text));
    const size_t before = train_tokens.size();
    AppendTokenWindows(tokens, window, train_tokens);
    const uint32_t owner =
        owner_index.emplace(document.owner, static_cast<uint32_t>(owner_index.size()))
            .first->second;
    owners.insert(owners.end(), (train_tokens.size() - before) / window, owner);
  }
  for (const TextDocument& document : test) {
    TRIB_ASSIGN_OR_RETURN(std::vector<int32_t> tokens, tokenizer->Encode(document.text));
    AppendTokenWindows(tokens, window, test_tokens);
  }
  if (owners.empty() || test_tokens.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", owners.empty() ? "training" : "test", " documents give no window of ",
                     window, " tokens (model.context + 1); add text or lower model.context"));
  }
  if (config.data.max_train_examples > 0 &&
      static_cast<size_t>(config.data.max_train_examples) < owners.size()) {
    owners.resize(config.data.max_train_examples);
    train_tokens.resize(owners.size() * window);
  }
  if (config.data.max_test_examples > 0 &&
      static_cast<size_t>(config.data.max_test_examples) * window < test_tokens.size()) {
    test_tokens.resize(config.data.max_test_examples * window);
  }
  ExperimentData data;
  if (config.data.partition.scheme == PartitionScheme::kNatural) {
    TRIB_ASSIGN_OR_RETURN(data.partitions,
                          PartitionByOwner(owners, static_cast<int>(owner_index.size()),
                                           config.data.partition.num_clients));
  } else {
    if (config.data.partition.scheme != PartitionScheme::kIid) {
      return absl::InvalidArgumentError(
          "text data has no labels: use data.partition = iid or natural");
    }
    TRIB_ASSIGN_OR_RETURN(data.partitions,
                          PartitionExamples(std::vector<uint8_t>(owners.size(), 0), 1,
                                            config.data.partition, config.run.seed));
  }
  LogInfo(
      "text: %zu training windows of %lld tokens from %zu documents (%zu owners), %zu test "
      "windows; tokenizer vocabulary %d",
      owners.size(), static_cast<long long>(config.model.context), train.size(), owner_index.size(),
      test_tokens.size() / window, tokenizer->vocab_size());
  data.model = config.model;
  data.model.num_classes = tokenizer->vocab_size();
  TRIB_ASSIGN_OR_RETURN(data.train,
                        TensorDataset::FromTokenWindows(train_tokens, config.model.context));
  TRIB_ASSIGN_OR_RETURN(data.test,
                        TensorDataset::FromTokenWindows(test_tokens, config.model.context));
  return data;
}

}  // namespace tributary
