// Fuzz target: a deployed client applying a download (DownlinkReceiver::Apply): the full model,
// a catch-up, or the framed increments of a lossy downlink codec. The first byte picks the kind
// and whether it starts from the seeded initial model; the rest is the payload. Applying must
// fail cleanly and leave the held model as it was, or succeed and keep the model's layout.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/downlink.h"
#include "fuzz_seeds.h"

namespace {

using tributary::Downlink;
using tributary::DownlinkReceiver;
using tributary::ModelState;

constexpr char kCodec[] = "topk:ratio=0.1|qsgd:bits=4,norm=max,bucket=0|zstd";

ModelState Initial() {
  ModelState model = *ModelState::Zeros({{"w", {6, 8}}, {"b", {6}}});
  for (size_t i = 0; i < model.num_elements(); ++i) model.flat()[i] = 0.01f * i;
  return model;
}

const DownlinkReceiver& Receiver() {
  static const DownlinkReceiver receiver = [] {
    auto created = DownlinkReceiver::Create(Initial(), kCodec);
    if (!created.ok()) __builtin_trap();
    return *std::move(created);
  }();
  return receiver;
}

constexpr Downlink::Kind kKinds[] = {Downlink::Kind::kFull, Downlink::Kind::kCatchUp,
                                     Downlink::Kind::kIncrements};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Downlink::Kind kind = kKinds[(data[0] & 0x7f) % 3];
  const bool from_initial = (data[0] & 0x80) != 0;
  ModelState held = Initial();
  held.flat()[0] = -5.0f;  // differs from the initial model, so a refusal that reset it shows
  const ModelState before = held;
  const absl::Status applied = Receiver().Apply(kind, from_initial, {data + 1, size - 1}, held);
  if (!held.SameLayout(before)) __builtin_trap();
  if (!applied.ok() && std::memcmp(held.flat().data(), before.flat().data(),
                                   before.num_elements() * sizeof(float)) != 0) {
    __builtin_trap();  // a refused download changed the model
  }
  return 0;
}

// Real downloads: a server publishing a few rounds through the lossy codec, each kind of
// transfer from the initial model and from a version held.
std::vector<std::string> TributaryFuzzSeeds() {
  std::unique_ptr<Downlink> downlink = *Downlink::Create(Initial(), kCodec, 8, 2);
  ModelState global = Initial();
  std::vector<std::string> seeds;
  for (int round = 1; round <= 4; ++round) {
    for (size_t i = 0; i < global.num_elements(); ++i) global.flat()[i] += 0.003f * (i % 7);
    if (!downlink->Publish(global, 5, round).ok()) __builtin_trap();
    for (int64_t held : {int64_t{0}, int64_t{round}}) {
      const Downlink::Transfer t = downlink->SyncClientFrom(0, held, true);
      std::string seed(1,
                       static_cast<char>(static_cast<int>(t.kind) | (t.from_initial ? 0x80 : 0)));
      seed.append(t.payload->begin(), t.payload->end());
      seeds.push_back(std::move(seed));
    }
  }
  return seeds;
}
