// Fuzz target: the checkpoint reader (tributary server --resume). The input is framed as a file
// the reader's checksum accepts (magic, the input, its XXH64), so the fuzzer reaches the parser
// behind the checksum.
#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/checkpoint.h"
#include "fuzz_seeds.h"

namespace {

const std::vector<tributary::TensorSpec>& Layout() {
  static const std::vector<tributary::TensorSpec> layout = {{"w", {3, 4}}, {"b", {3}}};
  return layout;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<tributary::TensorSpec>& layout = Layout();
  std::vector<uint8_t> file(sizeof(tributary::kCheckpointMagic));
  std::memcpy(file.data(), tributary::kCheckpointMagic, file.size());
  file.insert(file.end(), data, data + size);
  const uint64_t checksum = XXH64(file.data(), file.size(), 0);
  file.resize(file.size() + sizeof(checksum));
  std::memcpy(file.data() + file.size() - sizeof(checksum), &checksum, sizeof(checksum));
  auto checkpoint = tributary::ParseCheckpoint(file, "fuzz", layout);
  if (checkpoint.ok()) {
    // What parses must serialize back to the same bytes.
    if (tributary::SerializeCheckpoint(*checkpoint) != file) __builtin_trap();
  }
  // And unframed, as a truncated or foreign file would come.
  (void)tributary::ParseCheckpoint({data, size}, "fuzz", layout);
  return 0;
}

// Real checkpoints (without the magic and checksum the target adds): fresh, mid-run with
// strategy buffers.
std::vector<std::string> TributaryFuzzSeeds() {
  std::vector<std::string> seeds;
  for (int buffers : {0, 2}) {
    tributary::Checkpoint checkpoint;
    checkpoint.round = 3 * buffers;
    checkpoint.config_fingerprint = 0x1234567890abcdefULL;
    checkpoint.bytes_up_total = 1 << 20;
    checkpoint.bytes_down_total = 3 << 20;
    checkpoint.examples_trained_total = 4000;
    checkpoint.global = *tributary::ModelState::Zeros(Layout());
    checkpoint.public_model = checkpoint.global;
    checkpoint.public_version = 1 + buffers;
    for (int b = 0; b < buffers; ++b) checkpoint.strategy_state.emplace_back(15, 0.5f * b);
    const std::vector<uint8_t> file = tributary::SerializeCheckpoint(checkpoint);
    seeds.emplace_back(file.begin() + sizeof(tributary::kCheckpointMagic),
                       file.end() - sizeof(uint64_t));
  }
  return seeds;
}
