#include "data/sentencepiece_bridge.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

namespace tributary::spm {
namespace {

// The shim's functions (sentencepiece_shim.cc), resolved once.
struct Shim {
  char* (*train_bpe)(const char* const*, size_t, int, int, char**, size_t*) = nullptr;
  char* (*load)(const char*, size_t, void**) = nullptr;
  void (*free_processor)(void*) = nullptr;
  int (*vocab_size)(const void*) = nullptr;
  char* (*encode)(const void*, const char*, size_t, int**, size_t*) = nullptr;
  char* (*decode)(const void*, const int*, size_t, char**, size_t*) = nullptr;
  void (*free_buffer)(void*) = nullptr;  // the shim's heap is not ours
  std::string error;                     // why the shim could not be loaded
};

const Shim& GetShim() {
  static Shim shim;
  static std::once_flag once;
  std::call_once(once, [] {
    const char* override_path = std::getenv("TRIBUTARY_SPM_SHIM");
    const char* path = override_path != nullptr ? override_path : TRIBUTARY_SPM_SHIM;
    // A namespace of its own keeps SentencePiece's protobuf-lite apart from gRPC's protobuf.
    void* handle = dlmopen(LM_ID_NEWLM, path, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      shim.error = std::string("cannot load the SentencePiece shim: ") + dlerror();
      return;
    }
    auto bind = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(handle, name));
      if (fn == nullptr && shim.error.empty()) {
        shim.error = std::string("SentencePiece shim lacks ") + name;
      }
    };
    bind(shim.train_bpe, "trib_spm_train_bpe");
    bind(shim.load, "trib_spm_load");
    bind(shim.free_processor, "trib_spm_free_processor");
    bind(shim.vocab_size, "trib_spm_vocab_size");
    bind(shim.encode, "trib_spm_encode");
    bind(shim.decode, "trib_spm_decode");
    bind(shim.free_buffer, "trib_spm_free");
  });
  return shim;
}

// Takes ownership of a shim error message.
std::string Message(char* error) {
  if (error == nullptr) return {};
  std::string message = std::string("sentencepiece: ") + error;
  GetShim().free_buffer(error);
  return message;
}

}  // namespace

std::string TrainBpe(const std::vector<std::string>& sentences, int vocab_size, int threads,
                     std::string* model) {
  const Shim& shim = GetShim();
  if (!shim.error.empty()) return shim.error;
  std::vector<const char*> pointers;
  for (const std::string& s : sentences) pointers.push_back(s.c_str());
  char* data = nullptr;
  size_t size = 0;
  std::string error =
      Message(shim.train_bpe(pointers.data(), pointers.size(), vocab_size, threads, &data, &size));
  if (error.empty()) {
    model->assign(data, size);
    shim.free_buffer(data);
  }
  return error;
}

struct Processor::Impl {
  void* handle = nullptr;
  ~Impl() {
    if (handle != nullptr) GetShim().free_processor(handle);
  }
};

Processor::Processor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Processor::~Processor() = default;

std::string Processor::Load(const std::string& model, std::unique_ptr<Processor>* out) {
  const Shim& shim = GetShim();
  if (!shim.error.empty()) return shim.error;
  auto impl = std::make_unique<Impl>();
  std::string error = Message(shim.load(model.data(), model.size(), &impl->handle));
  if (error.empty()) out->reset(new Processor(std::move(impl)));
  return error;
}

std::string Processor::Encode(const std::string& text, std::vector<int>* ids) const {
  int* data = nullptr;
  size_t count = 0;
  std::string error =
      Message(GetShim().encode(impl_->handle, text.data(), text.size(), &data, &count));
  if (error.empty()) {
    ids->assign(data, data + count);
    GetShim().free_buffer(data);
  }
  return error;
}

std::string Processor::Decode(const std::vector<int>& ids, std::string* text) const {
  char* data = nullptr;
  size_t size = 0;
  std::string error =
      Message(GetShim().decode(impl_->handle, ids.data(), ids.size(), &data, &size));
  if (error.empty()) {
    text->assign(data, size);
    GetShim().free_buffer(data);
  }
  return error;
}

int Processor::vocab_size() const { return GetShim().vocab_size(impl_->handle); }

}  // namespace tributary::spm
