// A BPE tokenizer (SentencePiece) trained on a corpus's training text and cached on disk: the
// same texts and vocabulary size load the cached model instead of training again.
//
// Thread-safety: const methods may be called concurrently.
#ifndef TRIBUTARY_DATA_TOKENIZER_H_
#define TRIBUTARY_DATA_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tributary {

namespace spm {
class Processor;
}

class Tokenizer {
 public:
  // Loads `cache_dir`/bpe-<vocab>-<hash of texts>.model, or trains it on `texts` and writes it
  // there (atomically) first.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> TrainOrLoadCached(
      std::span<const std::string> texts, int vocab_size, const std::string& cache_dir);
  // Loads a model file written by TrainOrLoadCached.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> Load(const std::string& path);
  ~Tokenizer();

  absl::StatusOr<std::vector<int32_t>> Encode(const std::string& text) const;
  // Fails on ids outside [0, vocab_size()).
  absl::StatusOr<std::string> Decode(std::span<const int32_t> ids) const;
  int vocab_size() const;
  // The model file this tokenizer was loaded from.
  const std::string& path() const { return path_; }

 private:
  Tokenizer(std::unique_ptr<spm::Processor> processor, std::string path);

  std::unique_ptr<spm::Processor> processor_;
  std::string path_;
};

// Appends a document's whole windows of `window` tokens to `out` (a shorter tail is dropped).
void AppendTokenWindows(const std::vector<int32_t>& tokens, size_t window,
                        std::vector<int32_t>& out);

}  // namespace tributary

#endif  // TRIBUTARY_DATA_TOKENIZER_H_
