#include "data/tokenizer.h"

#include <xxhash.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"
#include "common/status_util.h"
#include "data/sentencepiece_bridge.h"

namespace tributary {
namespace {

// SentencePiece trains on sentences; very long lines are cut at spaces into pieces of about
// this many bytes (speeches are single lines).
constexpr size_t kMaxSentenceBytes = 2000;

std::vector<std::string> SplitSentences(std::span<const std::string> texts) {
  std::vector<std::string> sentences;
  for (const std::string& text : texts) {
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.size();
      if (end - start > kMaxSentenceBytes) {
        const size_t space = text.rfind(' ', start + kMaxSentenceBytes);
        end = (space == std::string::npos || space <= start) ? start + kMaxSentenceBytes : space;
      }
      sentences.push_back(text.substr(start, end - start));
      start = end + (end < text.size() && text[end] == ' ');
    }
  }
  return sentences;
}

absl::StatusOr<std::unique_ptr<spm::Processor>> LoadProcessor(const std::string& model) {
  std::unique_ptr<spm::Processor> processor;
  const std::string error = spm::Processor::Load(model, &processor);
  if (!error.empty()) return absl::InvalidArgumentError(error);
  return processor;
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<spm::Processor> processor, std::string path)
    : processor_(std::move(processor)), path_(std::move(path)) {}
Tokenizer::~Tokenizer() = default;

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::TrainOrLoadCached(
    std::span<const std::string> texts, int vocab_size, const std::string& cache_dir) {
  if (vocab_size < 64 || vocab_size > 1000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer vocabulary size must be in [64, 1000000], got ", vocab_size));
  }
  if (texts.empty()) return absl::InvalidArgumentError("no text to train the tokenizer on");
  XXH64_state_t* hash = XXH64_createState();
  XXH64_reset(hash, static_cast<XXH64_hash_t>(vocab_size));
  for (const std::string& text : texts) {
    XXH64_update(hash, text.data(), text.size());
    XXH64_update(hash, "\0", 1);
  }
  const uint64_t digest = XXH64_digest(hash);
  XXH64_freeState(hash);
  const std::string path = absl::StrFormat("%s/bpe-%d-%016x.model", cache_dir, vocab_size, digest);
  if (std::filesystem::exists(path)) return Load(path);

  std::string model;
  const std::string error = spm::TrainBpe(SplitSentences(texts), vocab_size, 2, &model);
  if (!error.empty()) return absl::InternalError(absl::StrCat("training the tokenizer: ", error));
  std::error_code ec;
  std::filesystem::create_directories(cache_dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create tokenizer cache ", cache_dir, ": ", ec.message()));
  }
  TRIB_RETURN_IF_ERROR(WriteFileAtomically(path, model));
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<spm::Processor> processor, LoadProcessor(model));
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(processor), path));
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Load(const std::string& path) {
  TRIB_ASSIGN_OR_RETURN(std::string model, ReadFile(path));
  absl::StatusOr<std::unique_ptr<spm::Processor>> processor = LoadProcessor(model);
  if (!processor.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer model ", path, ": ", processor.status().message()));
  }
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(*processor), path));
}

absl::StatusOr<std::vector<int32_t>> Tokenizer::Encode(const std::string& text) const {
  std::vector<int> ids;
  const std::string error = processor_->Encode(text, &ids);
  if (!error.empty()) return absl::InvalidArgumentError(error);
  return std::vector<int32_t>(ids.begin(), ids.end());
}

absl::StatusOr<std::string> Tokenizer::Decode(std::span<const int32_t> ids) const {
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size()) {
      return absl::OutOfRangeError(
          absl::StrCat("token id ", id, " outside the vocabulary of ", vocab_size()));
    }
  }
  std::string text;
  const std::string error = processor_->Decode(std::vector<int>(ids.begin(), ids.end()), &text);
  if (!error.empty()) return absl::InvalidArgumentError(error);
  return text;
}

int Tokenizer::vocab_size() const { return processor_->vocab_size(); }

void AppendTokenWindows(const std::vector<int32_t>& tokens, size_t window,
                        std::vector<int32_t>& out) {
  for (size_t start = 0; start + window <= tokens.size(); start += window) {
    out.insert(out.end(), tokens.begin() + start, tokens.begin() + start + window);
  }
}

}  // namespace tributary
