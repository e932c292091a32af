// The downlink's transfers on their own: whatever the server picks (catch-up, the downlink
// codec's increments, or the full model), a client applying it holds the public model bit for
// bit.
#include "engine/downlink.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

namespace tributary {
namespace {

constexpr uint64_t kRunSeed = 7;
const char* kQuantizedTopK = "topk:ratio=0.01|qsgd:bits=4,norm=max,bucket=0|zstd";
const char* kGridTopK = "topk:ratio=0.01|grid:exp=12|zstd";
const char* kGridTopKArith = "topk:ratio=0.01|grid:exp=12|arith";

ModelState Layout() { return *ModelState::Zeros({{"w", {400, 50}}, {"b", {50}}}); }

bool BitIdentical(const ModelState& a, const ModelState& b) {
  return a.num_elements() == b.num_elements() &&
         std::memcmp(a.flat().data(), b.flat().data(), a.num_elements() * sizeof(float)) == 0;
}

// A server whose global model takes a dense random step every round.
class Server {
 public:
  explicit Server(const std::string& codec, int history, ModelState initial = Layout())
      : global_(std::move(initial)) {
    downlink_ = *Downlink::Create(global_, codec, history, /*num_clients=*/4);
  }
  void Round() {
    ++round_;
    std::normal_distribution<float> step(0.0f, 0.01f);
    for (float& v : global_.flat()) v += step(rng_);
    ASSERT_TRUE(downlink_->Publish(global_, kRunSeed, round_).ok());
  }
  Downlink& downlink() { return *downlink_; }

 private:
  ModelState global_;
  std::unique_ptr<Downlink> downlink_;
  std::mt19937 rng_{1};
  int round_ = 0;
};

// Brings `held` to the server's public model through one transfer; returns its kind.
Downlink::Transfer Sync(Downlink& downlink, const DownlinkReceiver& receiver, uint32_t client,
                        int64_t held_version, ModelState& held) {
  Downlink::Transfer transfer = downlink.SyncClientFrom(client, held_version, true);
  EXPECT_NE(transfer.payload, nullptr);
  const absl::Status applied =
      receiver.Apply(transfer.kind, transfer.from_initial, *transfer.payload, held);
  EXPECT_TRUE(applied.ok()) << applied;
  EXPECT_EQ(static_cast<int64_t>(transfer.payload->size()) +
                (transfer.from_initial ? int64_t{sizeof(uint64_t)} : 0),
            transfer.bytes);
  return transfer;
}

TEST(DownlinkTest, ReturningClientHoldsThePublicModelAfter1And10And100MissedRounds) {
  Server server(kQuantizedTopK, /*history=*/128);
  const DownlinkReceiver receiver = *DownlinkReceiver::Create(Layout(), kQuantizedTopK);
  ModelState held = Layout();
  Sync(server.downlink(), receiver, 0, 0, held);  // the initial model, from the seed
  int64_t version = server.downlink().current_version();
  for (int missed : {1, 10, 100}) {
    for (int r = 0; r < missed; ++r) server.Round();
    const Downlink::Transfer transfer = Sync(server.downlink(), receiver, 0, version, held);
    EXPECT_TRUE(BitIdentical(held, server.downlink().public_model())) << missed;
    // Quantized increments are smaller than the changed coordinates as fp32 after a few rounds.
    if (missed <= 10) {
      EXPECT_EQ(transfer.kind, Downlink::Kind::kIncrements) << missed;
    }
    version = transfer.version;
  }
  // A client that never synced: the seed plus the increments of every version since.
  ModelState fresh = Layout();
  fresh.flat()[0] = 123.0f;  // whatever it held is replaced
  Sync(server.downlink(), receiver, 1, 0, fresh);
  EXPECT_TRUE(BitIdentical(fresh, server.downlink().public_model()));
}

TEST(DownlinkTest, EveryKindOfTransferIsExact) {
  // A short history: clients further behind than it get a catch-up from the initial model or
  // the full model, whichever is smaller; lossless codecs keep no increments.
  for (const char* codec : {kQuantizedTopK, kGridTopK, kGridTopKArith, "topk:ratio=0.01", "fp32",
                            "topk:ratio=0.01|qsgd:bits=4,norm=max,bucket=0|arith"}) {
    Server server(codec, /*history=*/4);
    const DownlinkReceiver receiver = *DownlinkReceiver::Create(Layout(), codec);
    ModelState held = Layout();
    Sync(server.downlink(), receiver, 0, 0, held);
    int64_t version = server.downlink().current_version();
    for (int missed : {1, 3, 6, 2}) {
      for (int r = 0; r < missed; ++r) server.Round();
      const Downlink::Transfer transfer = Sync(server.downlink(), receiver, 0, version, held);
      EXPECT_TRUE(BitIdentical(held, server.downlink().public_model()))
          << codec << ", " << missed << " missed";
      if (std::string(codec) == "fp32") {
        EXPECT_NE(transfer.kind, Downlink::Kind::kIncrements);
      }
      version = transfer.version;
    }
  }
}

// On a grid downlink a client away for many rounds gets one difference over the coordinates
// that changed instead of every increment it missed, and lands on the public model exactly.
TEST(DownlinkTest, GridCatchUpsBringAReturningClientToThePublicModelBitForBit) {
  // With either byte stage: the grid catch-ups use the downlink codec's (arith or zstd).
  for (const char* codec : {kGridTopK, kGridTopKArith}) {
    SCOPED_TRACE(codec);
    EXPECT_EQ(GridCatchUpSpec(**Pipeline::Parse(codec)), std::string(codec) == kGridTopK
                                                             ? "sparse|grid:exp=12|zstd"
                                                             : "sparse|grid:exp=12|arith");
    Server server(codec, /*history=*/128);
    const DownlinkReceiver receiver = *DownlinkReceiver::Create(Layout(), codec);
    ModelState held = Layout();
    Sync(server.downlink(), receiver, 0, 0, held);
    int64_t version = server.downlink().current_version();
    for (int missed : {1, 10, 100}) {
      for (int r = 0; r < missed; ++r) server.Round();
      const Downlink::Transfer transfer = Sync(server.downlink(), receiver, 0, version, held);
      EXPECT_TRUE(BitIdentical(held, server.downlink().public_model())) << missed;
      // One header instead of one per increment; after 100 rounds the union of the changed
      // coordinates is also well below the sum of the increments' coordinates.
      if (missed >= 10) {
        EXPECT_EQ(transfer.kind, Downlink::Kind::kGridCatchUp) << missed;
      }
      version = transfer.version;
    }
    ModelState fresh = Layout();
    const Downlink::Transfer first = Sync(server.downlink(), receiver, 1, 0, fresh);
    EXPECT_EQ(first.kind, Downlink::Kind::kGridCatchUp);
    EXPECT_TRUE(first.from_initial);
    EXPECT_TRUE(BitIdentical(fresh, server.downlink().public_model()));

    // A receiver without the grid, and damaged payloads: refused, the held model untouched.
    for (int r = 0; r < 10; ++r) server.Round();
    const Downlink::Transfer late = server.downlink().SyncClientFrom(0, version, true);
    ASSERT_EQ(late.kind, Downlink::Kind::kGridCatchUp);
    const ModelState before = held;
    const DownlinkReceiver plain = *DownlinkReceiver::Create(Layout(), kQuantizedTopK);
    EXPECT_FALSE(plain.Apply(late.kind, false, *late.payload, held).ok());
    const Payload truncated(late.payload->begin(), late.payload->end() - 1);
    EXPECT_FALSE(receiver.Apply(late.kind, false, truncated, held).ok());
    EXPECT_TRUE(BitIdentical(held, before));
  }
}

// A public model off the grid (here an initial model that is not on it) makes differences that
// do not add back exactly: no grid catch-up is offered, and the client still lands exactly.
TEST(DownlinkTest, NoGridCatchUpWhereTheDifferenceWouldNotAddBackExactly) {
  ModelState off_grid = Layout();
  // Just below 0.5: its lowest bits are lost as soon as a value crosses 0.5.
  for (float& v : off_grid.flat()) v = std::nextafter(0.5f, 0.0f);
  Server server(kGridTopK, /*history=*/128, off_grid);
  const DownlinkReceiver receiver = *DownlinkReceiver::Create(off_grid, kGridTopK);
  ModelState held = off_grid;
  for (int r = 0; r < 10; ++r) server.Round();
  const Downlink::Transfer transfer = Sync(server.downlink(), receiver, 0, 1, held);
  EXPECT_NE(transfer.kind, Downlink::Kind::kGridCatchUp);
  EXPECT_TRUE(BitIdentical(held, server.downlink().public_model()));
}

TEST(DownlinkTest, MalformedIncrementsAreRefused) {
  Server server(kQuantizedTopK, 16);
  const DownlinkReceiver receiver = *DownlinkReceiver::Create(Layout(), kQuantizedTopK);
  server.Round();
  server.Round();
  const Downlink::Transfer transfer = server.downlink().SyncClientFrom(0, 1, true);
  ASSERT_EQ(transfer.kind, Downlink::Kind::kIncrements);
  const Payload& good = *transfer.payload;
  ModelState held = Layout();
  const ModelState before = held;
  for (size_t cut : {size_t{0}, size_t{3}, good.size() / 2, good.size() - 1}) {
    Payload truncated(good.begin(), good.begin() + cut);
    EXPECT_FALSE(receiver.Apply(Downlink::Kind::kIncrements, false, truncated, held).ok()) << cut;
    EXPECT_TRUE(BitIdentical(held, before)) << "a refused transfer leaves the model alone";
  }
  Payload extra = good;
  extra.push_back(0);
  EXPECT_FALSE(receiver.Apply(Downlink::Kind::kIncrements, false, extra, held).ok());
  Payload huge_count = good;
  huge_count[3] = 0x7f;  // count field (little-endian u32) far beyond what the bytes hold
  EXPECT_FALSE(receiver.Apply(Downlink::Kind::kIncrements, false, huge_count, held).ok());
  EXPECT_TRUE(BitIdentical(held, before));
}

// A receiver that does not keep the initial model makes it only for a transfer that starts from
// it, and refuses one made with another layout without touching the held model.
TEST(DownlinkTest, AReceiverWithoutTheInitialModelMakesItOnlyWhenATransferStartsFromIt) {
  Server server(kQuantizedTopK, /*history=*/2);
  int made = 0;
  const DownlinkReceiver receiver = *DownlinkReceiver::Create(
      Layout().specs(),
      [&made]() -> absl::StatusOr<ModelState> {
        ++made;
        return Layout();
      },
      kQuantizedTopK);
  ModelState held = Layout();
  server.Round();
  Downlink::Transfer transfer = Sync(server.downlink(), receiver, 0, 0, held);
  ASSERT_TRUE(transfer.from_initial);
  EXPECT_EQ(made, 1);
  server.Round();
  transfer = Sync(server.downlink(), receiver, 0, transfer.version, held);
  EXPECT_FALSE(transfer.from_initial);
  EXPECT_EQ(made, 1);
  EXPECT_TRUE(BitIdentical(held, server.downlink().public_model()));
  for (int r = 0; r < 10; ++r) server.Round();  // out of the two versions the server keeps
  transfer = Sync(server.downlink(), receiver, 0, transfer.version, held);
  ASSERT_TRUE(transfer.from_initial);
  EXPECT_EQ(made, 2);
  EXPECT_TRUE(BitIdentical(held, server.downlink().public_model()));

  const DownlinkReceiver wrong = *DownlinkReceiver::Create(
      Layout().specs(),
      [] {
        return ModelState::Zeros({{"w", {3}}});
      },
      kQuantizedTopK);
  for (int r = 0; r < 10; ++r) server.Round();
  const Downlink::Transfer late = server.downlink().SyncClientFrom(0, transfer.version, true);
  ASSERT_TRUE(late.from_initial);
  const ModelState before = held;
  EXPECT_FALSE(wrong.Apply(late.kind, true, *late.payload, held).ok());
  EXPECT_TRUE(BitIdentical(held, before));
}

// Streaming DiLoCo publishes one fragment of the model per round: each increment carries that
// span alone (what the codec left of the other spans waits for their turn), and a client
// applying them holds the public model exactly.
TEST(DownlinkTest, IncrementsOfASpanCarryThatSpanOnly) {
  const char* codec = "qsgd:bits=4,norm=max,bucket=64";
  const ModelState layout = Layout();  // 20,050 values
  const size_t n = layout.num_elements();
  std::unique_ptr<Downlink> whole = *Downlink::Create(layout, codec, 16, 2);
  std::unique_ptr<Downlink> spans = *Downlink::Create(layout, codec, 16, 2);
  const DownlinkReceiver receiver = *DownlinkReceiver::Create(layout, codec);
  ModelState global = layout, held = layout;
  Sync(*spans, receiver, 0, 0, held);
  std::mt19937 rng(3);
  std::normal_distribution<float> step(0.0f, 0.01f);
  for (int round = 1; round <= 8; ++round) {
    const ModelSpan fragment{.begin = (round - 1) % 4 * n / 4,
                             .end = ((round - 1) % 4 + 1) * n / 4};
    for (size_t i = fragment.begin; i < fragment.end; ++i) global.flat()[i] += step(rng);
    const ModelState before = spans->public_model();
    ASSERT_TRUE(whole->Publish(global, kRunSeed, round).ok());
    ASSERT_TRUE(spans->Publish(global, kRunSeed, round, fragment).ok());
    for (size_t i = 0; i < n; ++i) {
      if (i >= fragment.begin && i < fragment.end) continue;
      ASSERT_EQ(spans->public_model().flat()[i], before.flat()[i]) << "outside the span: " << i;
    }
    const Downlink::Transfer a = whole->SyncClientFrom(1, round, true);
    const Downlink::Transfer b = Sync(*spans, receiver, 0, round, held);
    ASSERT_EQ(b.kind, Downlink::Kind::kIncrements);
    EXPECT_TRUE(BitIdentical(held, spans->public_model())) << round;
    // A quarter of the values (4 bits and a scale per 64) plus the range header.
    EXPECT_LT(b.bytes, a.bytes / 3) << round;
  }
  // A client several rounds behind applies the span increments in turn.
  ModelState late = layout;
  Sync(*spans, receiver, 1, 0, late);
  EXPECT_TRUE(BitIdentical(late, spans->public_model()));
  EXPECT_FALSE(spans->Publish(global, kRunSeed, 9, ModelSpan{.begin = 10, .end = n + 1}).ok());

  // A span past the model's end is refused and leaves the model alone.
  const Downlink::Transfer good = spans->SyncClientFrom(0, spans->current_version() - 1, true);
  ASSERT_EQ(good.kind, Downlink::Kind::kIncrements);
  Payload bad = *good.payload;
  const size_t start_field = 2 * sizeof(uint32_t) + 4;  // count, length, marker
  const uint64_t past_end = n;
  std::memcpy(bad.data() + start_field, &past_end, sizeof(past_end));
  const ModelState before = held;
  EXPECT_FALSE(receiver.Apply(Downlink::Kind::kIncrements, false, bad, held).ok());
  EXPECT_TRUE(BitIdentical(held, before));
}

TEST(DownlinkTest, SavedStateLoadsOnlyWhenEveryIncrementLeadsToItsVersion) {
  Server server(kQuantizedTopK, /*history=*/8);
  for (int r = 0; r < 3; ++r) server.Round();
  const std::vector<uint8_t> saved = server.downlink().SaveState();
  std::unique_ptr<Downlink> loaded = *Downlink::Create(Layout(), kQuantizedTopK, 8, 4);
  ASSERT_TRUE(loaded->LoadState(saved).ok());
  EXPECT_TRUE(BitIdentical(loaded->public_model(), server.downlink().public_model()));
  // One changed value of the last version's model: its increment no longer leads to it.
  std::vector<uint8_t> damaged = saved;
  const size_t model_bytes = Layout().num_elements() * sizeof(float);
  const Payload& last = *server.downlink().SyncClientFrom(0, 3, true).payload;  // one increment
  ASSERT_GT(last.size(), 8u);
  // The last version's record: number, model, increment length, increment; then the clients.
  const size_t tail = sizeof(uint64_t) + 4 * sizeof(int64_t) + 1;
  const size_t increment_bytes = last.size() - 2 * sizeof(uint32_t);
  const size_t model_at = damaged.size() - tail - increment_bytes - sizeof(uint64_t) - model_bytes;
  damaged[model_at] ^= 0x01;
  std::unique_ptr<Downlink> refused = *Downlink::Create(Layout(), kQuantizedTopK, 8, 4);
  const absl::Status status = refused->LoadState(damaged);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_NE(std::string(status.message()).find("does not lead to it"), std::string::npos) << status;
}

}  // namespace
}  // namespace tributary
