#include "engine/datasets/sotu_dataset.h"

#include <cstdio>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_util.h"
#include "data/sotu.h"

namespace tributary {
namespace {

std::string CorpusDir(const ExperimentConfig& config) {
  return config.data.dir.empty() ? kDefaultSotuDir : config.data.dir;
}

absl::StatusOr<std::unique_ptr<Tokenizer>> TrainingTokenizer(const ExperimentConfig& config,
                                                             const std::vector<Speech>& speeches) {
  std::vector<std::string> texts;
  for (size_t i = 0; i < speeches.size(); ++i) {
    if (!IsValidationSpeech(i)) texts.push_back(speeches[i].text);
  }
  return Tokenizer::TrainOrLoadCached(texts, config.data.text.vocab_size,
                                      config.data.text.cache_dir);
}

// Who holds what: the split's size and, per client, its presidents and window count.
void PrintSummary(const ExperimentConfig& config, const std::map<std::string, int>& presidents,
                  const std::vector<uint8_t>& owners, const std::vector<ClientIndices>& partitions,
                  size_t validation_windows) {
  std::vector<std::string> names(presidents.size());
  for (const auto& [name, index] : presidents) names[index] = name;
  LogInfo(
      "sotu: %zu training windows of %lld tokens from %zu presidents, %zu validation "
      "windows; tokenizer vocabulary %d",
      owners.size(), static_cast<long long>(config.model.context), names.size(), validation_windows,
      config.data.text.vocab_size);
  if (config.data.partition.scheme != PartitionScheme::kNatural) return;
  for (size_t c = 0; c < partitions.size(); ++c) {
    if (partitions[c].empty()) continue;
    const std::string& first = names[owners[partitions[c].front()]];
    const std::string& last = names[owners[partitions[c].back()]];
    LogInfo("  client %zu: %s%s%s (%zu windows)", c, first.c_str(), first == last ? "" : " .. ",
            first == last ? "" : last.c_str(), partitions[c].size());
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadSotuTokenizer(const ExperimentConfig& config) {
  TRIB_ASSIGN_OR_RETURN(std::vector<Speech> speeches, LoadSotu(CorpusDir(config)));
  return TrainingTokenizer(config, speeches);
}

absl::StatusOr<ExperimentData> LoadSotuExperimentData(const ExperimentConfig& config) {
  TRIB_ASSIGN_OR_RETURN(std::vector<Speech> speeches, LoadSotu(CorpusDir(config)));
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, TrainingTokenizer(config, speeches));
  const size_t window = static_cast<size_t>(config.model.context) + 1;
  std::vector<int32_t> train_tokens, test_tokens;
  std::vector<uint8_t> owners;  // president of each training window, by first appearance
  std::map<std::string, int> president_index;
  for (size_t i = 0; i < speeches.size(); ++i) {
    const Speech& speech = speeches[i];
    if (speech.year < config.data.text.min_year || speech.year > config.data.text.max_year)
      continue;
    TRIB_ASSIGN_OR_RETURN(std::vector<int32_t> tokens, tokenizer->Encode(speech.text));
    if (IsValidationSpeech(i)) {
      AppendTokenWindows(tokens, window, test_tokens);
      continue;
    }
    const size_t before = train_tokens.size();
    AppendTokenWindows(tokens, window, train_tokens);
    auto [it, added] =
        president_index.emplace(speech.president, static_cast<int>(president_index.size()));
    if (it->second > 255) return absl::InvalidArgumentError("more than 256 presidents");
    owners.insert(owners.end(), (train_tokens.size() - before) / window,
                  static_cast<uint8_t>(it->second));
  }
  if (owners.empty() || test_tokens.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no training or validation addresses in years [",
                                                   config.data.text.min_year, ", ",
                                                   config.data.text.max_year, "]"));
  }
  if (config.data.max_train_examples > 0 &&
      static_cast<size_t>(config.data.max_train_examples) < owners.size()) {
    owners.resize(config.data.max_train_examples);
    train_tokens.resize(owners.size() * window);
  }
  const size_t test_windows = test_tokens.size() / window;
  if (config.data.max_test_examples > 0 &&
      static_cast<size_t>(config.data.max_test_examples) < test_windows) {
    std::vector<int32_t> kept;
    for (int64_t k = 0; k < config.data.max_test_examples; ++k) {
      const size_t w = k * test_windows / config.data.max_test_examples;
      kept.insert(kept.end(), test_tokens.begin() + w * window,
                  test_tokens.begin() + (w + 1) * window);
    }
    test_tokens = std::move(kept);
  }
  ExperimentData data;
  TRIB_ASSIGN_OR_RETURN(data.partitions,
                        PartitionExamples(owners, static_cast<int>(president_index.size()),
                                          config.data.partition, config.run.seed));
  PrintSummary(config, president_index, owners, data.partitions, test_tokens.size() / window);
  data.model = config.model;
  data.model.num_classes = tokenizer->vocab_size();
  TRIB_ASSIGN_OR_RETURN(data.train,
                        TensorDataset::FromTokenWindows(train_tokens, config.model.context));
  TRIB_ASSIGN_OR_RETURN(data.test,
                        TensorDataset::FromTokenWindows(test_tokens, config.model.context));
  return data;
}

absl::Status SotuDataset::Validate(const ExperimentConfig& config) const {
  return ValidateTextRun(config, name());
}

}  // namespace tributary
