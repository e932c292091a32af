// SentencePiece behind a plain C++ interface. The library itself lives in a separately loaded
// shim (sentencepiece_shim.cc explains why); this side never includes its headers. Errors come
// back as messages (empty: success).
#ifndef TRIBUTARY_DATA_SENTENCEPIECE_BRIDGE_H_
#define TRIBUTARY_DATA_SENTENCEPIECE_BRIDGE_H_

#include <memory>
#include <string>
#include <vector>

namespace tributary::spm {

// Trains a BPE model on `sentences` and returns its serialized proto in *model.
std::string TrainBpe(const std::vector<std::string>& sentences, int vocab_size, int threads,
                     std::string* model);

class Processor {
 public:
  // Loads a serialized model proto.
  static std::string Load(const std::string& model, std::unique_ptr<Processor>* out);
  ~Processor();

  std::string Encode(const std::string& text, std::vector<int>* ids) const;
  std::string Decode(const std::vector<int>& ids, std::string* text) const;
  int vocab_size() const;

 private:
  struct Impl;
  explicit Processor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tributary::spm

#endif  // TRIBUTARY_DATA_SENTENCEPIECE_BRIDGE_H_
