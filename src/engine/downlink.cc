#include "engine/downlink.h"

#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "compress/byte_stream.h"
#include "compress/grid_codec.h"

namespace tributary {

absl::StatusOr<std::unique_ptr<Downlink>> Downlink::Create(const ModelState& initial,
                                                           const std::string& codec, int history,
                                                           size_t num_clients) {
  if (history < 1) return absl::InvalidArgumentError("compress.downlink_history must be >= 1");
  auto downlink = std::unique_ptr<Downlink>(new Downlink());
  TRIB_ASSIGN_OR_RETURN(downlink->codec_, Pipeline::Parse(codec));
  TRIB_ASSIGN_OR_RETURN(downlink->catch_up_, Pipeline::Parse("sparse"));
  TRIB_ASSIGN_OR_RETURN(downlink->full_, Pipeline::Parse("fp32"));
  if (const std::string grid = GridCatchUpSpec(*downlink->codec_); !grid.empty()) {
    TRIB_ASSIGN_OR_RETURN(downlink->grid_catch_up_, Pipeline::Parse(grid));
  }
  downlink->history_ = history;
  downlink->versions_.push_back({1, initial});
  downlink->initial_ = initial;
  downlink->client_version_.assign(num_clients, 0);
  downlink->full_bytes_ = static_cast<int64_t>(downlink->full_->Encode(initial.flat(), 0).size());
  return downlink;
}

Downlink::Transfer Downlink::SyncClient(uint32_t client, bool with_payload) {
  return SyncClientFrom(client, client_version_[client], with_payload);
}

Downlink::Transfer Downlink::SyncClientFrom(uint32_t client, int64_t held, bool with_payload) {
  const int64_t current = versions_.back().number;
  client_version_[client] = current;
  // Without a version still in the history, the client regenerates the initial model from the
  // run seed (key 0).
  const int64_t from = held < versions_.front().number || held > current ? 0 : held;
  // Clients holding the same version get the same payload: it is built once per version.
  const std::pair<int64_t, bool> key{from, with_payload};
  auto it = transfers_.find(key);
  if (it == transfers_.end()) it = transfers_.emplace(key, BuildTransfer(from, with_payload)).first;
  return it->second;
}

std::vector<const Payload*> Downlink::IncrementsSince(int64_t from) const {
  const int64_t first = versions_.front().number;
  // A client without a version regenerates the initial model, version 1 (unless a restore
  // replaced the history's start).
  const int64_t held = from == 0 ? 1 : from;
  if (held < first || (from == 0 && restored_)) return {};
  std::vector<const Payload*> increments;
  for (int64_t v = held + 1; v <= versions_.back().number; ++v) {
    const Version& version = versions_[v - first];
    if (version.increment == nullptr) return {};
    increments.push_back(version.increment.get());
  }
  return increments;
}

Downlink::Transfer Downlink::BuildTransfer(int64_t from, bool with_payload) const {
  const Version& current = versions_.back();
  const bool from_initial = from == 0;
  const int64_t seed_bytes = from_initial ? sizeof(uint64_t) : 0;
  const ModelState& old =
      from_initial ? initial_ : versions_[from - versions_.front().number].model;
  std::span<const float> now = current.model.flat(), then = old.flat();
  Transfer best{.bytes = full_bytes_, .kind = Kind::kFull, .version = current.number};
  std::optional<Payload> catch_up, grid_catch_up;
  // Keeps the transfer of `kind` (its payload `bytes`, the seed's added) when it is the smallest.
  const auto consider = [&](Kind kind, int64_t bytes) {
    bytes += seed_bytes;
    if (bytes < best.bytes) {
      best = {
          .bytes = bytes, .kind = kind, .from_initial = from_initial, .version = current.number};
    }
  };

  size_t changed_count = 0;
  for (size_t i = 0; i < now.size(); ++i) {
    changed_count += std::memcmp(&now[i], &then[i], sizeof(float)) != 0;
  }
  // A catch-up carries at least the changed values (a grid catch-up at least a byte each); when
  // they alone match the full model's size, the full model is the smaller payload, and the
  // catch-up need not be built.
  const auto within = [&](size_t bytes_each) {
    return static_cast<int64_t>(changed_count * bytes_each) < full_bytes_;
  };
  const bool try_catch_up = within(sizeof(float));
  const bool try_grid = grid_catch_up_ != nullptr && within(1);
  if (try_catch_up || try_grid) {
    std::vector<uint32_t> changed;
    std::vector<float> values;
    changed.reserve(changed_count);
    values.reserve(changed_count);
    for (size_t i = 0; i < now.size(); ++i) {
      // Bitwise comparison: a value that changed only in sign of zero still counts as changed.
      if (std::memcmp(&now[i], &then[i], sizeof(float)) != 0) {
        changed.push_back(static_cast<uint32_t>(i));
        values.push_back(now[i]);
      }
    }
    if (try_catch_up) {
      catch_up = catch_up_->EncodeSparse(now.size(), changed, values, 0);
      consider(Kind::kCatchUp, static_cast<int64_t>(catch_up->size()));
    }
    if (try_grid) {
      // Offered only where every difference is on the grid and adds back exactly, so the
      // client lands on H bit for bit (a model that left the grid's exact range gets the rest).
      const int exp = *codec_->grid_exponent();
      bool exact = true;
      for (size_t j = 0; j < changed.size() && exact; ++j) {
        const float held = then[changed[j]];
        const float difference = values[j] - held;
        exact = SnapToGrid(difference, exp) == difference && held + difference == values[j] &&
                std::signbit(held + difference) == std::signbit(values[j]);
        values[j] = difference;
      }
      if (exact) {
        grid_catch_up = grid_catch_up_->EncodeSparse(now.size(), changed, values, 0);
        consider(Kind::kGridCatchUp, static_cast<int64_t>(grid_catch_up->size()));
      }
    }
  }
  const std::vector<const Payload*> increments = IncrementsSince(from);
  if (!increments.empty()) {
    int64_t bytes = sizeof(uint32_t);
    for (const Payload* increment : increments) {
      bytes += sizeof(uint32_t) + static_cast<int64_t>(increment->size());
    }
    consider(Kind::kIncrements, bytes);
  }
  if (with_payload) {
    switch (best.kind) {
      case Kind::kFull:
        best.payload = std::make_shared<const Payload>(full_->Encode(now, 0));
        break;
      case Kind::kCatchUp:
        best.payload = std::make_shared<const Payload>(*std::move(catch_up));
        break;
      case Kind::kIncrements:
        best.payload = std::make_shared<const Payload>(FrameIncrements(increments));
        break;
      case Kind::kGridCatchUp:
        best.payload = std::make_shared<const Payload>(*std::move(grid_catch_up));
        break;
    }
  }
  return best;
}

absl::Status Downlink::Restore(const ModelState& model, int64_t version) {
  if (!model.SameLayout(initial_)) {
    return absl::InvalidArgumentError("downlink: restored model has another layout");
  }
  if (version < 1) return absl::InvalidArgumentError("downlink: version must be >= 1");
  versions_.clear();
  versions_.push_back({version, model});
  restored_ = true;
  transfers_.clear();
  return absl::OkStatus();
}

std::vector<uint8_t> Downlink::SaveState() const {
  std::vector<uint8_t> bytes;
  ByteWriter out(&bytes);
  out.Put<uint32_t>(static_cast<uint32_t>(versions_.size()));
  for (const Version& version : versions_) {
    out.Put<int64_t>(version.number);
    const std::span<const float> values = version.model.flat();
    out.PutBytes({reinterpret_cast<const uint8_t*>(values.data()), values.size_bytes()});
    out.Put<uint64_t>(version.increment ? version.increment->size() : ~uint64_t{0});
    if (version.increment) out.PutBytes(*version.increment);
  }
  out.Put<uint64_t>(client_version_.size());
  for (int64_t held : client_version_) out.Put<int64_t>(held);
  out.Put<uint8_t>(restored_ ? 1 : 0);
  return bytes;
}

absl::Status Downlink::LoadState(std::span<const uint8_t> bytes) {
  const auto damaged = [](const std::string& what) {
    return absl::DataLossError(absl::StrCat("downlink state: ", what));
  };
  ByteReader in(bytes);
  TRIB_ASSIGN_OR_RETURN(const uint32_t count, in.Get<uint32_t>());
  if (count < 1 || static_cast<int>(count) > history_) return damaged("bad version count");
  std::deque<Version> versions;
  const size_t model_bytes = initial_.num_elements() * sizeof(float);
  for (uint32_t v = 0; v < count; ++v) {
    TRIB_ASSIGN_OR_RETURN(const int64_t number, in.Get<int64_t>());
    if (number < 1 || (!versions.empty() && number != versions.back().number + 1)) {
      return damaged("version numbers out of order");
    }
    TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> values, in.GetBytes(model_bytes));
    Version version{number, initial_, nullptr};
    std::memcpy(version.model.flat().data(), values.data(), model_bytes);
    TRIB_ASSIGN_OR_RETURN(const uint64_t increment, in.Get<uint64_t>());
    if (increment != ~uint64_t{0}) {
      TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> payload, in.GetBytes(increment));
      version.increment = std::make_shared<const Payload>(payload.begin(), payload.end());
      // Clients will apply it to the version before: it must lead there bit for bit (a payload
      // of another wire-format version would otherwise surface only when a client needs it).
      if (!versions.empty()) {
        ModelState moved = versions.back().model;
        const absl::Status applied = ApplyIncrement(*codec_, *version.increment, moved);
        if (!applied.ok() ||
            std::memcmp(moved.flat().data(), version.model.flat().data(), model_bytes) != 0) {
          return damaged(absl::StrCat("the increment to version ", number, " does not lead to it",
                                      applied.ok() ? "" : ": ", applied.message()));
        }
      }
    }
    versions.push_back(std::move(version));
  }
  TRIB_ASSIGN_OR_RETURN(const uint64_t clients, in.Get<uint64_t>());
  if (clients != client_version_.size()) return damaged("another number of clients");
  std::vector<int64_t> held(clients);
  for (int64_t& version : held) {
    TRIB_ASSIGN_OR_RETURN(version, in.Get<int64_t>());
    if (version < 0 || version > versions.back().number) return damaged("a client's version");
  }
  TRIB_ASSIGN_OR_RETURN(const uint8_t restored, in.Get<uint8_t>());
  if (in.remaining() != 0 || restored > 1) return damaged("trailing bytes");
  versions_ = std::move(versions);
  client_version_ = std::move(held);
  restored_ = restored == 1;
  transfers_.clear();
  return absl::OkStatus();
}

absl::Status Downlink::Publish(const ModelState& global, uint64_t run_seed, int round,
                               std::optional<ModelSpan> span) {
  constexpr uint64_t kServerStream = ~uint64_t{0};
  const uint64_t seed = DeriveSeed(run_seed, round, kServerStream, RngPurpose::kCodec);
  Version next{versions_.back().number + 1, versions_.back().model};
  if (codec_->lossless()) {
    next.model = global;
  } else {
    TRIB_ASSIGN_OR_RETURN(ModelState difference, Subtract(global, next.model));
    const CodecContext context{.seed = seed, .layout = global.specs()};
    const ModelSpan whole{.begin = 0, .end = difference.num_elements()};
    const ModelSpan moved = span.value_or(whole);
    if (moved.begin >= moved.end || moved.end > whole.end) {
      return absl::InvalidArgumentError("downlink: a span outside the model");
    }
    Payload payload = EncodeIncrement(*codec_, difference.flat(), context, moved);
    TRIB_RETURN_IF_ERROR(ApplyIncrement(*codec_, payload, next.model));
    next.increment = std::make_shared<const Payload>(std::move(payload));
  }
  versions_.push_back(std::move(next));
  transfers_.clear();
  while (static_cast<int>(versions_.size()) > history_) versions_.pop_front();
  return absl::OkStatus();
}

namespace {
// Starts a ranged increment; a codec payload starts with the pipeline's own magic instead.
constexpr uint8_t kRangeMagic[4] = {'R', 'N', 'G', '1'};
}  // namespace

Payload EncodeIncrement(const Pipeline& codec, std::span<const float> change,
                        const CodecContext& context, ModelSpan span) {
  if (span.begin == 0 && span.end == change.size()) return codec.Encode(change, context);
  const size_t length = span.end - span.begin;
  const std::vector<TensorSpec> span_layout = {
      TensorSpec{.name = "range", .shape = {static_cast<int64_t>(length)}}};
  const CodecContext span_context{.seed = context.seed, .layout = span_layout};
  Payload payload;
  ByteWriter out(&payload);
  out.PutBytes(kRangeMagic);
  out.Put<uint64_t>(span.begin);
  out.Put<uint64_t>(length);
  out.PutBytes(codec.Encode(change.subspan(span.begin, length), span_context));
  return payload;
}

absl::Status ApplyIncrement(const Pipeline& codec, std::span<const uint8_t> increment,
                            ModelState& model) {
  const size_t n = model.num_elements();
  if (increment.size() < sizeof(kRangeMagic) ||
      std::memcmp(increment.data(), kRangeMagic, sizeof(kRangeMagic)) != 0) {
    TRIB_ASSIGN_OR_RETURN(Update update, codec.Decode(increment, n, model.specs()));
    update.AddTo(model.flat());
    return absl::OkStatus();
  }
  ByteReader in(increment.subspan(sizeof(kRangeMagic)));
  TRIB_ASSIGN_OR_RETURN(const uint64_t begin, in.Get<uint64_t>());
  TRIB_ASSIGN_OR_RETURN(const uint64_t length, in.Get<uint64_t>());
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> payload, in.GetBytes(in.remaining()));
  if (length == 0 || begin >= n || length > n - begin) {
    return absl::DataLossError(absl::StrCat("downlink: an increment of coordinates ", begin, " to ",
                                            begin + length, " of a model of ", n));
  }
  const std::vector<TensorSpec> span_layout = {
      TensorSpec{.name = "range", .shape = {static_cast<int64_t>(length)}}};
  TRIB_ASSIGN_OR_RETURN(Update update, codec.Decode(payload, length, span_layout));
  update.AddTo(model.flat().subspan(begin, length));
  return absl::OkStatus();
}

std::string GridCatchUpSpec(const Pipeline& codec) {
  const std::optional<int> exp = codec.grid_exponent();
  if (!exp) return std::string();
  return absl::StrCat("sparse|grid:exp=", *exp, codec.byte_stage() == "arith" ? "|arith" : "|zstd");
}

Payload FrameIncrements(std::span<const Payload* const> increments) {
  Payload framed;
  ByteWriter out(&framed);
  out.Put<uint32_t>(static_cast<uint32_t>(increments.size()));
  for (const Payload* increment : increments) {
    out.Put<uint32_t>(static_cast<uint32_t>(increment->size()));
    out.PutBytes(*increment);
  }
  return framed;
}

absl::StatusOr<DownlinkReceiver> DownlinkReceiver::Create(const ModelState& initial,
                                                          const std::string& codec) {
  return Create(
      initial.specs(), [initial]() -> absl::StatusOr<ModelState> { return initial; }, codec);
}

absl::StatusOr<DownlinkReceiver> DownlinkReceiver::Create(std::vector<TensorSpec> layout,
                                                          InitialModelMaker make_initial,
                                                          const std::string& codec) {
  DownlinkReceiver receiver;
  receiver.layout_ = std::move(layout);
  for (const TensorSpec& spec : receiver.layout_) {
    receiver.num_elements_ += static_cast<size_t>(spec.NumElements());
  }
  receiver.make_initial_ = std::move(make_initial);
  TRIB_ASSIGN_OR_RETURN(receiver.codec_, Pipeline::Parse(codec));
  TRIB_ASSIGN_OR_RETURN(receiver.catch_up_, Pipeline::Parse("sparse"));
  TRIB_ASSIGN_OR_RETURN(receiver.full_, Pipeline::Parse("fp32"));
  if (const std::string grid = GridCatchUpSpec(*receiver.codec_); !grid.empty()) {
    TRIB_ASSIGN_OR_RETURN(receiver.grid_catch_up_, Pipeline::Parse(grid));
  }
  return receiver;
}

absl::StatusOr<ModelState> DownlinkReceiver::Initial() const {
  TRIB_ASSIGN_OR_RETURN(ModelState initial, make_initial_());
  if (initial.specs() != layout_) {
    return absl::InternalError("downlink: the regenerated initial model has another layout");
  }
  return initial;
}

absl::Status DownlinkReceiver::Apply(Downlink::Kind kind, bool from_initial,
                                     std::span<const uint8_t> payload, ModelState& held) const {
  if (held.specs() != layout_) {
    return absl::InvalidArgumentError("downlink: the held model has another layout");
  }
  const size_t n = num_elements_;
  switch (kind) {
    case Downlink::Kind::kFull: {
      TRIB_ASSIGN_OR_RETURN(Update update, full_->Decode(payload, n, layout_));
      if (update.sparse || update.values.size() != n) {
        return absl::DataLossError("downlink: a full model that is not dense");
      }
      std::copy(update.values.begin(), update.values.end(), held.flat().begin());
      return absl::OkStatus();
    }
    case Downlink::Kind::kCatchUp: {
      TRIB_ASSIGN_OR_RETURN(Update update, catch_up_->Decode(payload, n, layout_));
      if (!update.sparse) return absl::DataLossError("downlink: a catch-up that is not sparse");
      if (from_initial) {
        TRIB_ASSIGN_OR_RETURN(held, Initial());
      }
      std::span<float> values = held.flat();
      for (size_t j = 0; j < update.indices.size(); ++j) {
        values[update.indices[j]] = update.values[j];
      }
      return absl::OkStatus();
    }
    case Downlink::Kind::kGridCatchUp: {
      if (grid_catch_up_ == nullptr) {
        return absl::DataLossError("downlink: a grid catch-up, but the downlink codec has no grid");
      }
      TRIB_ASSIGN_OR_RETURN(Update update, grid_catch_up_->Decode(payload, n, layout_));
      if (!update.sparse) {
        return absl::DataLossError("downlink: a grid catch-up that is not sparse");
      }
      if (from_initial) {
        TRIB_ASSIGN_OR_RETURN(held, Initial());
      }
      update.AddTo(held.flat());
      return absl::OkStatus();
    }
    case Downlink::Kind::kIncrements: {
      ByteReader in(payload);
      TRIB_ASSIGN_OR_RETURN(const uint32_t count, in.Get<uint32_t>());
      // Every increment takes at least its length field.
      if (count > in.remaining() / sizeof(uint32_t)) {
        return absl::DataLossError("downlink: more increments announced than the payload holds");
      }
      ModelState next;
      if (from_initial) {
        TRIB_ASSIGN_OR_RETURN(next, Initial());
      } else {
        next = held;
      }
      for (uint32_t i = 0; i < count; ++i) {
        TRIB_ASSIGN_OR_RETURN(const uint32_t length, in.Get<uint32_t>());
        TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> increment, in.GetBytes(length));
        TRIB_RETURN_IF_ERROR(ApplyIncrement(*codec_, increment, next));
      }
      if (in.remaining() != 0) {
        return absl::DataLossError("downlink: bytes after the last increment");
      }
      held = std::move(next);
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("downlink: unknown transfer kind");
}

}  // namespace tributary
