#include "secagg/secagg_protocol.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace tributary {
namespace {

constexpr size_t kSharePlaintextBytes = 8 + 2 * kShamirShareBytes;

// Shamir party number of a client: its index + 1 (0 is the secret's own point).
uint32_t PartyOf(uint32_t client) { return client + 1; }

// Binds a sealed share to its round (the graph seed) and to its sender and recipient.
std::array<uint8_t, 16> ShareContext(uint64_t graph_seed, uint32_t from, uint32_t to) {
  std::array<uint8_t, 16> context;
  std::memcpy(context.data(), &graph_seed, 8);
  std::memcpy(context.data() + 8, &from, 4);
  std::memcpy(context.data() + 12, &to, 4);
  return context;
}

Secret SecretOf(const std::array<uint8_t, 32>& bytes) {
  Secret s;
  std::copy(bytes.begin(), bytes.end(), s.begin());
  return s;
}

absl::Status Abandoned(const char* stage, size_t have, int threshold) {
  return absl::FailedPreconditionError(absl::StrCat("secure aggregation round abandoned at ", stage,
                                                    ": ", have, " clients left, the threshold is ",
                                                    threshold, " (nothing was revealed)"));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Client

SecAggClient::SecAggClient(const SecAggParams& params, uint32_t index)
    : params_(params),
      index_(index),
      neighbors_(NeighborGraph(params)[index]),
      cipher_keys_(KeyPair::Generate()),
      mask_keys_(KeyPair::Generate()) {
  randombytes_buf(self_seed_.data(), self_seed_.size());
}

absl::StatusOr<SecAggClient> SecAggClient::Create(const SecAggParams& params, uint32_t index) {
  TRIB_RETURN_IF_ERROR(ValidateSecAggParams(params));
  if (index >= static_cast<uint32_t>(params.num_clients)) {
    return absl::InvalidArgumentError(
        absl::StrCat("client ", index, " is not in a cohort of ", params.num_clients));
  }
  return SecAggClient(params, index);
}

AdvertisedKeys SecAggClient::AdvertiseKeys() const {
  return {.from = index_, .cipher_key = cipher_keys_.public_key, .mask_key = mask_keys_.public_key};
}

absl::StatusOr<std::vector<EncryptedShare>> SecAggClient::ShareKeys(
    std::span<const AdvertisedKeys> neighbours) {
  neighbour_keys_.clear();
  for (const AdvertisedKeys& keys : neighbours) {
    if (!std::binary_search(neighbors_.begin(), neighbors_.end(), keys.from) ||
        !neighbour_keys_.emplace(keys.from, keys).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("client ", index_, ": keys of ", keys.from, " are not a new neighbour's"));
    }
  }
  if (static_cast<int>(neighbour_keys_.size()) < params_.threshold) {
    return Abandoned("key sharing", neighbour_keys_.size(), params_.threshold);
  }
  std::vector<uint32_t> parties;
  for (const auto& [v, keys] : neighbour_keys_) parties.push_back(PartyOf(v));
  TRIB_ASSIGN_OR_RETURN(std::vector<ShamirShare> key_shares,
                        ShamirSplit(SecretOf(mask_keys_.secret_key), params_.threshold, parties));
  TRIB_ASSIGN_OR_RETURN(std::vector<ShamirShare> seed_shares,
                        ShamirSplit(self_seed_, params_.threshold, parties));
  std::vector<EncryptedShare> out;
  size_t i = 0;
  for (const auto& [v, keys] : neighbour_keys_) {
    std::array<uint8_t, kSharePlaintextBytes> plaintext;
    std::memcpy(plaintext.data(), &index_, 4);
    std::memcpy(plaintext.data() + 4, &v, 4);
    const auto key_bytes = key_shares[i].Serialize();
    const auto seed_bytes = seed_shares[i].Serialize();
    std::copy(key_bytes.begin(), key_bytes.end(), plaintext.begin() + 8);
    std::copy(seed_bytes.begin(), seed_bytes.end(), plaintext.begin() + 8 + kShamirShareBytes);
    TRIB_ASSIGN_OR_RETURN(SymmetricKey key, AgreeKey(cipher_keys_, keys.cipher_key));
    const auto context = ShareContext(params_.graph_seed, index_, v);
    out.push_back({.from = index_, .to = v, .sealed = Seal(key, plaintext, context)});
    sodium_memzero(plaintext.data(), plaintext.size());
    ++i;
  }
  return out;
}

absl::StatusOr<MaskedInput> SecAggClient::MaskInput(std::span<const EncryptedShare> received,
                                                    std::span<const uint32_t> input) {
  if (input.size() != params_.vector_length) {
    return absl::InvalidArgumentError(absl::StrCat("secure aggregation input has ", input.size(),
                                                   " values, expected ", params_.vector_length));
  }
  const uint64_t limit = uint64_t{1} << params_.input_bits;
  for (uint32_t v : input) {
    if (v >= limit) {
      return absl::InvalidArgumentError(absl::StrCat("secure aggregation input value ", v,
                                                     " is not below 2^", params_.input_bits));
    }
  }
  held_.clear();
  for (const EncryptedShare& share : received) {
    auto keys = neighbour_keys_.find(share.from);
    if (share.to != index_ || keys == neighbour_keys_.end() || held_.contains(share.from)) {
      return absl::InvalidArgumentError(
          absl::StrCat("client ", index_, ": unexpected share from ", share.from));
    }
    TRIB_ASSIGN_OR_RETURN(SymmetricKey key, AgreeKey(cipher_keys_, keys->second.cipher_key));
    TRIB_ASSIGN_OR_RETURN(
        std::vector<uint8_t> plaintext,
        Open(key, share.sealed, ShareContext(params_.graph_seed, share.from, index_)));
    uint32_t from = 0, to = 0;
    if (plaintext.size() != kSharePlaintextBytes) {
      return absl::InvalidArgumentError("a share's plaintext has the wrong size");
    }
    std::memcpy(&from, plaintext.data(), 4);
    std::memcpy(&to, plaintext.data() + 4, 4);
    if (from != share.from || to != index_) {
      return absl::InvalidArgumentError("a share names another sender or recipient");
    }
    const std::span<const uint8_t> bytes(plaintext);
    TRIB_ASSIGN_OR_RETURN(ShamirShare mask_key,
                          ShamirShare::Parse(bytes.subspan(8, kShamirShareBytes)));
    TRIB_ASSIGN_OR_RETURN(ShamirShare self_seed, ShamirShare::Parse(bytes.subspan(
                                                     8 + kShamirShareBytes, kShamirShareBytes)));
    if (mask_key.x != PartyOf(index_) || self_seed.x != PartyOf(index_)) {
      return absl::InvalidArgumentError("a share is for another party");
    }
    held_[share.from] = {mask_key, self_seed};
    sodium_memzero(plaintext.data(), plaintext.size());
  }
  if (static_cast<int>(held_.size()) < params_.threshold) {
    return Abandoned("masked input", held_.size(), params_.threshold);
  }
  MaskedInput out{.from = index_, .masked = std::vector<uint32_t>(input.begin(), input.end())};
  AddMask(self_seed_, out.masked, /*subtract=*/false);
  for (const auto& [v, shares] : held_) {
    TRIB_ASSIGN_OR_RETURN(SymmetricKey pairwise,
                          AgreeKey(mask_keys_, neighbour_keys_.at(v).mask_key));
    AddMask(pairwise, out.masked, /*subtract=*/index_ > v);
  }
  return out;
}

absl::StatusOr<UnmaskingShares> SecAggClient::Unmask(std::span<const uint32_t> survivors) const {
  if (static_cast<int>(survivors.size()) < params_.threshold) {
    return Abandoned("unmasking", survivors.size(), params_.threshold);
  }
  const std::set<uint32_t> alive(survivors.begin(), survivors.end());
  UnmaskingShares out{.from = index_};
  for (const auto& [v, shares] : held_) {
    if (alive.contains(v)) {
      out.self_seed_shares.emplace_back(v, shares.self_seed);
    } else {
      out.mask_key_shares.emplace_back(v, shares.mask_key);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Server

SecAggServer::SecAggServer(const SecAggParams& params)
    : params_(params), graph_(NeighborGraph(params)), sum_(params.vector_length, 0) {}

absl::StatusOr<SecAggServer> SecAggServer::Create(const SecAggParams& params) {
  TRIB_RETURN_IF_ERROR(ValidateSecAggParams(params));
  return SecAggServer(params);
}

absl::Status SecAggServer::Expect(Stage stage, const char* what) const {
  if (stage_ != stage) {
    return absl::FailedPreconditionError(
        absl::StrCat("secure aggregation: ", what, " arrived outside its stage"));
  }
  return absl::OkStatus();
}

bool SecAggServer::IsNeighbour(uint32_t a, uint32_t b) const {
  return a < graph_.size() && std::binary_search(graph_[a].begin(), graph_[a].end(), b);
}

absl::Status SecAggServer::ReceiveKeys(const AdvertisedKeys& keys) {
  TRIB_RETURN_IF_ERROR(Expect(Stage::kAdvertising, "keys"));
  if (keys.from >= static_cast<uint32_t>(params_.num_clients) || keys_.contains(keys.from)) {
    return absl::InvalidArgumentError(absl::StrCat("keys from unexpected client ", keys.from));
  }
  if (keys.cipher_key == keys.mask_key) {
    return absl::InvalidArgumentError("a client's two public keys must differ");
  }
  keys_[keys.from] = keys;
  return absl::OkStatus();
}

absl::Status SecAggServer::CloseAdvertising() {
  TRIB_RETURN_IF_ERROR(Expect(Stage::kAdvertising, "the end of advertising"));
  stage_ = Stage::kDone;
  if (static_cast<int>(keys_.size()) < params_.threshold) {
    return Abandoned("key advertising", keys_.size(), params_.threshold);
  }
  stage_ = Stage::kSharing;
  return absl::OkStatus();
}

std::vector<AdvertisedKeys> SecAggServer::KeysFor(uint32_t client) const {
  std::vector<AdvertisedKeys> out;
  if (client >= graph_.size()) return out;
  for (uint32_t v : graph_[client]) {
    if (auto it = keys_.find(v); it != keys_.end()) out.push_back(it->second);
  }
  return out;
}

absl::Status SecAggServer::ReceiveShares(uint32_t from, std::vector<EncryptedShare> shares) {
  TRIB_RETURN_IF_ERROR(Expect(Stage::kSharing, "shares"));
  if (!keys_.contains(from) || shared_.contains(from)) {
    return absl::InvalidArgumentError(absl::StrCat("shares from unexpected client ", from));
  }
  std::set<uint32_t> recipients;
  for (const EncryptedShare& share : shares) {
    if (share.from != from || !IsNeighbour(from, share.to) || !keys_.contains(share.to) ||
        !recipients.insert(share.to).second || share.sealed.size() > 1024) {
      return absl::InvalidArgumentError(
          absl::StrCat("client ", from, " sent a share it may not send (to ", share.to, ")"));
    }
  }
  if (recipients.size() != KeysFor(from).size()) {
    return absl::InvalidArgumentError(absl::StrCat("client ", from, " sent ", recipients.size(),
                                                   " shares for ", KeysFor(from).size(),
                                                   " neighbours"));
  }
  for (EncryptedShare& share : shares) shares_to_[share.to].push_back(std::move(share));
  shared_.insert(from);
  return absl::OkStatus();
}

absl::Status SecAggServer::CloseSharing() {
  TRIB_RETURN_IF_ERROR(Expect(Stage::kSharing, "the end of sharing"));
  stage_ = Stage::kDone;
  if (static_cast<int>(shared_.size()) < params_.threshold) {
    return Abandoned("key sharing", shared_.size(), params_.threshold);
  }
  stage_ = Stage::kMasking;
  return absl::OkStatus();
}

std::vector<EncryptedShare> SecAggServer::SharesFor(uint32_t client) const {
  std::vector<EncryptedShare> out;
  auto it = shares_to_.find(client);
  if (it == shares_to_.end()) return out;
  for (const EncryptedShare& share : it->second) {
    if (shared_.contains(share.from)) out.push_back(share);
  }
  return out;
}

absl::Status SecAggServer::ReceiveMaskedInput(const MaskedInput& input) {
  TRIB_RETURN_IF_ERROR(Expect(Stage::kMasking, "a masked input"));
  if (!shared_.contains(input.from) ||
      std::find(masked_.begin(), masked_.end(), input.from) != masked_.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("masked input from unexpected client ", input.from));
  }
  if (input.masked.size() != params_.vector_length) {
    return absl::InvalidArgumentError(absl::StrCat("masked input of ", input.masked.size(),
                                                   " values, expected ", params_.vector_length));
  }
  for (size_t i = 0; i < sum_.size(); ++i) sum_[i] += input.masked[i];
  masked_.push_back(input.from);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint32_t>> SecAggServer::CloseMasking() {
  TRIB_RETURN_IF_ERROR(Expect(Stage::kMasking, "the end of masking"));
  stage_ = Stage::kDone;
  if (static_cast<int>(masked_.size()) < params_.threshold) {
    return Abandoned("masked input", masked_.size(), params_.threshold);
  }
  std::sort(masked_.begin(), masked_.end());
  stage_ = Stage::kUnmasking;
  return masked_;
}

absl::Status SecAggServer::ReceiveUnmaskingShares(const UnmaskingShares& shares) {
  TRIB_RETURN_IF_ERROR(Expect(Stage::kUnmasking, "unmasking shares"));
  const uint32_t from = shares.from;
  if (!std::binary_search(masked_.begin(), masked_.end(), from) || unmasked_from_.contains(from)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unmasking shares from unexpected client ", from));
  }
  // Check the whole message before keeping any of it.
  std::set<uint32_t> owners;
  for (const auto* list : {&shares.self_seed_shares, &shares.mask_key_shares}) {
    const bool seeds = list == &shares.self_seed_shares;
    for (const auto& [owner, share] : *list) {
      const bool survived = std::binary_search(masked_.begin(), masked_.end(), owner);
      if (!IsNeighbour(from, owner) || !shared_.contains(owner) || survived != seeds ||
          share.x != PartyOf(from) || !owners.insert(owner).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "client ", from, " sent an unmasking share it may not send (of ", owner, ")"));
      }
    }
  }
  for (const auto& [owner, share] : shares.self_seed_shares) seed_shares_[owner].push_back(share);
  for (const auto& [owner, share] : shares.mask_key_shares) key_shares_[owner].push_back(share);
  unmasked_from_.insert(from);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint32_t>> SecAggServer::Finish() {
  TRIB_RETURN_IF_ERROR(Expect(Stage::kUnmasking, "the end of unmasking"));
  stage_ = Stage::kDone;
  if (static_cast<int>(unmasked_from_.size()) < params_.threshold) {
    return Abandoned("unmasking", unmasked_from_.size(), params_.threshold);
  }
  std::vector<uint32_t> sum = sum_;
  for (uint32_t u : masked_) {
    if (static_cast<int>(seed_shares_[u].size()) < params_.threshold) {
      return Abandoned("unmasking (a survivor's self-mask seed)", seed_shares_[u].size(),
                       params_.threshold);
    }
    TRIB_ASSIGN_OR_RETURN(Secret seed, ShamirRecover(seed_shares_[u], params_.threshold));
    AddMask(seed, sum, /*subtract=*/true);
  }
  for (uint32_t v : shared_) {
    if (std::binary_search(masked_.begin(), masked_.end(), v)) continue;
    // v shared its secrets and then dropped: its neighbours' pairwise masks with v stay in the
    // sum until removed with v's masking key.
    if (static_cast<int>(key_shares_[v].size()) < params_.threshold) {
      return Abandoned("unmasking (a dropped client's masking key)", key_shares_[v].size(),
                       params_.threshold);
    }
    TRIB_ASSIGN_OR_RETURN(Secret secret, ShamirRecover(key_shares_[v], params_.threshold));
    std::array<uint8_t, 32> secret_key;
    std::copy(secret.begin(), secret.end(), secret_key.begin());
    const KeyPair dropped = KeyPair::FromSecret(secret_key);
    if (dropped.public_key != keys_.at(v).mask_key) {
      return absl::DataLossError(
          absl::StrCat("the shares of client ", v, "'s masking key do not give its public key"));
    }
    for (uint32_t u : graph_[v]) {
      if (!std::binary_search(masked_.begin(), masked_.end(), u)) continue;
      TRIB_ASSIGN_OR_RETURN(SymmetricKey pairwise, AgreeKey(dropped, keys_.at(u).mask_key));
      // u added +PRG when u < v, -PRG when u > v.
      AddMask(pairwise, sum, /*subtract=*/u < v);
    }
    sodium_memzero(secret_key.data(), secret_key.size());
  }
  return sum;
}

bool SecAggServer::HeldBothSecretsOfAClient() const {
  for (const auto& [owner, shares] : seed_shares_) {
    if (!shares.empty() && key_shares_.contains(owner) && !key_shares_.at(owner).empty()) {
      return true;
    }
  }
  return false;
}

}  // namespace tributary
