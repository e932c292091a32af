#include "engine/downlink.h"

#include "absl/strings/str_cat.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"

namespace tributary {

absl::StatusOr<std::unique_ptr<Downlink>> Downlink::Create(const ModelState& initial,
                                                           const std::string& codec, int history,
                                                           size_t num_clients) {
  if (history < 1) return absl::InvalidArgumentError("compress.downlink_history must be >= 1");
  auto downlink = std::unique_ptr<Downlink>(new Downlink());
  TRIB_ASSIGN_OR_RETURN(downlink->codec_, Pipeline::Parse(codec));
  TRIB_ASSIGN_OR_RETURN(downlink->catch_up_, Pipeline::Parse("sparse"));
  TRIB_ASSIGN_OR_RETURN(downlink->full_, Pipeline::Parse("fp32"));
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

Downlink::Transfer Downlink::BuildTransfer(int64_t from, bool with_payload) const {
  const Version& current = versions_.back();
  const bool from_initial = from == 0;
  const ModelState& old =
      from_initial ? initial_ : versions_[from - versions_.front().number].model;
  std::span<const float> now = current.model.flat(), then = old.flat();
  auto full = [&] {
    return Transfer{
        .bytes = full_bytes_,
        .full_resync = true,
        .version = current.number,
        .payload = with_payload ? std::make_shared<const Payload>(full_->Encode(now, 0)) : nullptr};
  };
  size_t changed_count = 0;
  for (size_t i = 0; i < now.size(); ++i) {
    changed_count += std::memcmp(&now[i], &then[i], sizeof(float)) != 0;
  }
  // A catch-up carries at least the changed values; when they alone match the full model's
  // size, the full model is the smaller payload, and the catch-up need not be built.
  if (static_cast<int64_t>(changed_count * sizeof(float)) >= full_bytes_) return full();
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
  Payload catch_up = catch_up_->EncodeSparse(now.size(), changed, values, 0);
  const int64_t seed_bytes = from_initial ? sizeof(uint64_t) : 0;
  const int64_t bytes = seed_bytes + static_cast<int64_t>(catch_up.size());
  if (bytes >= full_bytes_) return full();
  return Transfer{
      .bytes = bytes,
      .from_initial = from_initial,
      .version = current.number,
      .payload = with_payload ? std::make_shared<const Payload>(std::move(catch_up)) : nullptr};
}

absl::Status Downlink::Restore(const ModelState& model, int64_t version) {
  if (!model.SameLayout(initial_)) {
    return absl::InvalidArgumentError("downlink: restored model has another layout");
  }
  if (version < 1) return absl::InvalidArgumentError("downlink: version must be >= 1");
  versions_.clear();
  versions_.push_back({version, model});
  transfers_.clear();
  return absl::OkStatus();
}

absl::Status Downlink::Publish(const ModelState& global, uint64_t run_seed, int round) {
  constexpr uint64_t kServerStream = ~uint64_t{0};
  const uint64_t seed = DeriveSeed(run_seed, round, kServerStream, RngPurpose::kCodec);
  Version next{versions_.back().number + 1, versions_.back().model};
  if (codec_->lossless()) {
    next.model = global;
  } else {
    TRIB_ASSIGN_OR_RETURN(ModelState difference, Subtract(global, next.model));
    const CodecContext context{.seed = seed, .layout = global.specs()};
    Payload payload = codec_->Encode(difference.flat(), context);
    TRIB_ASSIGN_OR_RETURN(Update update,
                          codec_->Decode(payload, difference.num_elements(), global.specs()));
    update.AddTo(next.model.flat());
  }
  versions_.push_back(std::move(next));
  transfers_.clear();
  while (static_cast<int>(versions_.size()) > history_) versions_.pop_front();
  return absl::OkStatus();
}

}  // namespace tributary
