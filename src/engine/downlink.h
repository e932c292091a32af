// Downlink: what the server sends to clients. All clients track one public model H; after each
// round the server moves H toward its global model G through the downlink codec
// (H += Decode(Encode(G - H))), so G - H is the server's error-feedback memory. With a lossless
// downlink codec, H = G.
//
// A client selected for a round is brought to the current H by the smallest of: a catch-up (the
// coordinates where H changed since the version it last received, with their new values), the
// increments it missed (the downlink codec's own payloads, one per version, kept with the
// history: compressed, where a catch-up sends fp32 values), a grid catch-up (with a `grid`
// downlink codec only: the changed coordinates with their differences as integer multiples of
// the grid's step, "sparse|grid:exp=E|zstd"; on the grid, float additions are exact, so one
// difference stands for all the increments missed), or a full resync (H as dense fp32). Each leaves
// the client holding H exactly: an increment is applied as the server applied it (H +=
// Decode(payload), the same float additions in the same order). The initial model is generated from
// the run seed, so a client that has never synced, or whose version is older than the history kept,
// regenerates it locally (the seed: 8 bytes) and catches up from there.
//
// Publish may be given a span (Streaming DiLoCo: the fragment the round synchronized): H then
// moves toward G on that span only, and the increment carries that span alone (the range
// marker, its start and length, and the codec's payload of the span; DownlinkReceiver reads
// both forms); what G - H holds elsewhere waits for its own span's turn.
//
// Thread-safety: not thread-safe.
#ifndef TRIBUTARY_ENGINE_DOWNLINK_H_
#define TRIBUTARY_ENGINE_DOWNLINK_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "compress/pipeline.h"
#include "tensor/model_state.h"

namespace tributary {

// Coordinates [begin, end) of the flat model.
struct ModelSpan {
  size_t begin = 0;
  size_t end = 0;
};

class Downlink {
 public:
  enum class Kind {
    kFull,         // the model as fp32 ("fp32" pipeline)
    kCatchUp,      // changed coordinates with their values ("sparse")
    kIncrements,   // the downlink codec's payloads of the missed versions (DownlinkReceiver)
    kGridCatchUp,  // changed coordinates with their differences on the grid (GridCatchUpSpec)
  };

  // `history`: how many past versions of H are kept for catch-ups (memory: history x model).
  static absl::StatusOr<std::unique_ptr<Downlink>> Create(const ModelState& initial,
                                                          const std::string& codec, int history,
                                                          size_t num_clients);

  const ModelState& public_model() const { return versions_.back().model; }

  struct Transfer {
    int64_t bytes = 0;  // payload bytes, plus the seed's when regenerating
    Kind kind = Kind::kFull;
    bool from_initial = false;  // a catch-up or increments from the seeded initial model
    int64_t version = 0;        // the version the client holds afterwards
    // Only when asked for (the simulator needs the size alone); shared by the clients that hold
    // the same version.
    std::shared_ptr<const Payload> payload;
  };
  // The payload that brings `client` to the current public model; records that it has it.
  Transfer SyncClient(uint32_t client, bool with_payload = false);
  // The same from the version the client says it holds (a real client may have restarted, or
  // the server resumed from a checkpoint); 0 or an unknown version: from the initial model.
  Transfer SyncClientFrom(uint32_t client, int64_t held, bool with_payload);

  int64_t current_version() const { return versions_.back().number; }
  // Resuming from a checkpoint: `model` becomes the current version `version`, the only one in
  // the history (older clients catch up from the initial model or resync).
  absl::Status Restore(const ModelState& model, int64_t version);

  // Everything a simulated run's checkpoint needs to go on exactly as if never stopped: the
  // versions kept (models and increments) and the version each client holds. LoadState checks
  // the bytes against this downlink's layout, history and population before it changes anything.
  std::vector<uint8_t> SaveState() const;
  absl::Status LoadState(std::span<const uint8_t> bytes);

  // Ends `round`: moves H toward `global` and makes it the current version. The downlink codec's
  // randomness comes from the run seed and the round, on a stream no client id uses, so every
  // server (simulated or deployed) encodes the same way.
  // With `span` (a lossy codec only), H moves on coordinates [begin, end) alone.
  absl::Status Publish(const ModelState& global, uint64_t run_seed, int round,
                       std::optional<ModelSpan> span = std::nullopt);

 private:
  struct Version {
    int64_t number;
    ModelState model;
    // The downlink codec's payload that moved the previous version to this one; null for the
    // initial or a restored version, and with a lossless codec (H = G: nothing is kept).
    std::shared_ptr<const Payload> increment;
  };

  // The transfer from version `from` (0: the initial model) to the current one.
  Transfer BuildTransfer(int64_t from, bool with_payload) const;
  // The increments from version `from` (0: the initial model) to the current one, or none when
  // the history lacks one of them.
  std::vector<const Payload*> IncrementsSince(int64_t from) const;

  std::unique_ptr<Pipeline> codec_;
  std::unique_ptr<Pipeline> catch_up_;       // "sparse": changed coordinates, exact values
  std::unique_ptr<Pipeline> grid_catch_up_;  // GridCatchUpSpec(); null without a grid codec
  std::unique_ptr<Pipeline> full_;           // "fp32"
  ModelState initial_;                       // version 1, which every client can regenerate
  int history_ = 0;
  std::deque<Version> versions_;         // oldest first; back() is current
  std::vector<int64_t> client_version_;  // 0: never synced
  // This round's transfers, by (from version, with payload); cleared when the version changes.
  std::map<std::pair<int64_t, bool>, Transfer> transfers_;
  int64_t full_bytes_ = 0;
  bool restored_ = false;  // the history no longer starts at the initial model
};

// The client's side: applies a transfer to the model it holds.
class DownlinkReceiver {
 public:
  // `initial`: the model generated from the run seed (kept); `codec`: compress.downlink.
  static absl::StatusOr<DownlinkReceiver> Create(const ModelState& initial,
                                                 const std::string& codec);
  // The same without keeping the initial model: `make_initial` generates it (with `layout`)
  // when a transfer starts from it, which a deployed client needs only when it fell out of the
  // server's history (a client holding nothing yet holds the initial model already).
  using InitialModelMaker = std::function<absl::StatusOr<ModelState>()>;
  static absl::StatusOr<DownlinkReceiver> Create(std::vector<TensorSpec> layout,
                                                 InitialModelMaker make_initial,
                                                 const std::string& codec);
  // Brings `held` to the transfer's version. Checks everything before changing `held`: on an
  // error (a malformed or truncated payload) it is left as it was.
  absl::Status Apply(Downlink::Kind kind, bool from_initial, std::span<const uint8_t> payload,
                     ModelState& held) const;

 private:
  // The initial model, made and checked against the layout.
  absl::StatusOr<ModelState> Initial() const;

  std::vector<TensorSpec> layout_;
  size_t num_elements_ = 0;
  InitialModelMaker make_initial_;
  std::shared_ptr<const Pipeline> codec_, catch_up_, grid_catch_up_, full_;
};

// The pipeline of grid catch-ups for a downlink codec whose value stage is grid:exp=E:
// "sparse|grid:exp=E|arith" when the codec's byte stage is arith, else "sparse|grid:exp=E|zstd";
// empty for any other codec.
std::string GridCatchUpSpec(const Pipeline& codec);

// Increments travel as: count (u32), then per increment its length (u32) and payload.
Payload FrameIncrements(std::span<const Payload* const> increments);

// One increment of the public model through `codec`, `change` = G - H: the codec's payload of
// the whole vector, or for a strict sub-span of it the range marker "RNG1", the span's start
// and length (u64 each) and the codec's payload of change[span].
Payload EncodeIncrement(const Pipeline& codec, std::span<const float> change,
                        const CodecContext& context, ModelSpan span);
// Adds a decoded increment (either form) to `model`, as the server applied it. Checks the
// payload (a span inside the model) before changing anything.
absl::Status ApplyIncrement(const Pipeline& codec, std::span<const uint8_t> increment,
                            ModelState& model);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_DOWNLINK_H_
