// A C-ABI shim over SentencePiece, built as its own shared module and loaded by
// sentencepiece_bridge.cc into a link-map namespace of its own (dlmopen). Debian's
// libsentencepiece carries a private copy of protobuf-lite whose exported symbols would otherwise
// replace the system libprotobuf's (used by gRPC) and crash the process at start-up; in its own
// namespace each keeps its own. (RTLD_DEEPBIND did the same but AddressSanitizer refuses it.)
// The namespace has its own C library, hence its own heap: every buffer this shim returns is
// released with trib_spm_free, never the caller's free(). Includes no Abseil header either
// (SentencePiece's headers redefine absl::string_view). Every function returns null on success
// or an error message.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

class ArrayIterator : public sentencepiece::SentenceIterator {
 public:
  ArrayIterator(const char* const* sentences, size_t count) : sentences_(sentences), count_(count) {
    Load();
  }
  bool done() const override { return position_ >= count_; }
  void Next() override {
    ++position_;
    Load();
  }
  const std::string& value() const override { return current_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void Load() {
    if (position_ < count_) current_ = sentences_[position_];
  }
  const char* const* sentences_;
  size_t count_;
  size_t position_ = 0;
  std::string current_;
};

char* Copy(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  std::memcpy(out, s.data(), s.size());
  out[s.size()] = '\0';
  return out;
}

char* Error(const sentencepiece::util::Status& status) {
  return status.ok() ? nullptr : Copy(status.ToString());
}

}  // namespace

extern "C" {

char* trib_spm_train_bpe(const char* const* sentences, size_t count, int vocab_size, int threads,
                         char** model, size_t* model_size) {
  ArrayIterator iterator(sentences, count);
  const std::unordered_map<std::string, std::string> options = {
      {"model_type", "bpe"},
      {"vocab_size", std::to_string(vocab_size)},
      {"character_coverage", "1.0"},
      {"input_sentence_size", "0"},  // all sentences: no sampling, so training is repeatable
      {"max_sentence_length", "16384"},
      {"num_threads", std::to_string(threads)},
      {"bos_id", "-1"},
      {"minloglevel", "2"},
  };
  std::string serialized;
  char* error = Error(sentencepiece::SentencePieceTrainer::Train(options, &iterator, &serialized));
  if (error != nullptr) return error;
  *model = static_cast<char*>(std::malloc(serialized.size()));
  std::memcpy(*model, serialized.data(), serialized.size());
  *model_size = serialized.size();
  return nullptr;
}

char* trib_spm_load(const char* model, size_t size, void** processor) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  char* error = Error(sp->LoadFromSerializedProto(std::string(model, size)));
  if (error != nullptr) {
    delete sp;
    return error;
  }
  *processor = sp;
  return nullptr;
}

void trib_spm_free_processor(void* processor) {
  delete static_cast<sentencepiece::SentencePieceProcessor*>(processor);
}

int trib_spm_vocab_size(const void* processor) {
  return static_cast<const sentencepiece::SentencePieceProcessor*>(processor)->GetPieceSize();
}

char* trib_spm_encode(const void* processor, const char* text, size_t size, int** ids,
                      size_t* count) {
  std::vector<int> out;
  char* error = Error(static_cast<const sentencepiece::SentencePieceProcessor*>(processor)->Encode(
      std::string(text, size), &out));
  if (error != nullptr) return error;
  *ids = static_cast<int*>(std::malloc(std::max<size_t>(1, out.size()) * sizeof(int)));
  std::memcpy(*ids, out.data(), out.size() * sizeof(int));
  *count = out.size();
  return nullptr;
}

char* trib_spm_decode(const void* processor, const int* ids, size_t count, char** text,
                      size_t* size) {
  std::string out;
  char* error = Error(static_cast<const sentencepiece::SentencePieceProcessor*>(processor)->Decode(
      std::vector<int>(ids, ids + count), &out));
  if (error != nullptr) return error;
  *text = Copy(out);
  *size = out.size();
  return nullptr;
}

void trib_spm_free(void* buffer) { std::free(buffer); }

}  // extern "C"
