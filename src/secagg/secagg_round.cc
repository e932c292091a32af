#include "secagg/secagg_round.h"

#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace tributary {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

absl::StatusOr<SecAggParams> ResolveSecAggParams(const SecAggSpec& spec, int cohort_size,
                                                 size_t length, uint64_t graph_seed) {
  SecAggParams params{.num_clients = cohort_size,
                      .neighbors = spec.neighbors,
                      .threshold = spec.threshold,
                      .graph_seed = graph_seed,
                      .vector_length = length,
                      .input_bits = spec.bits};
  if (params.neighbors == 0 && cohort_size > kCompleteGraphUpTo) {
    params.neighbors = 4 * static_cast<int>(std::ceil(std::log2(cohort_size)));
  }
  if (params.threshold == 0) params.threshold = params.Degree() / 2 + 1;
  TRIB_RETURN_IF_ERROR(ValidateSecAggParams(params));
  return params;
}

const char* SecAggStageName(SecAggStage stage) {
  switch (stage) {
    case SecAggStage::kAdvertise:
      return "advertise keys";
    case SecAggStage::kShare:
      return "share keys";
    case SecAggStage::kMask:
      return "masked input";
    case SecAggStage::kUnmask:
      return "unmasking";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Server

SecAggRoundServer::SecAggRoundServer(const SecAggParams& params, std::vector<uint32_t> cohort,
                                     RingQuantizer quantizer, SecAggServer server)
    : params_(params),
      cohort_(std::move(cohort)),
      quantizer_(quantizer),
      server_(std::move(server)) {
  for (uint32_t i = 0; i < cohort_.size(); ++i) index_[cohort_[i]] = i;
}

absl::StatusOr<std::unique_ptr<SecAggRoundServer>> SecAggRoundServer::Create(
    const SecAggSpec& spec, std::span<const uint32_t> cohort, size_t length, uint64_t graph_seed) {
  TRIB_ASSIGN_OR_RETURN(
      const SecAggParams params,
      ResolveSecAggParams(spec, static_cast<int>(cohort.size()), length, graph_seed));
  TRIB_ASSIGN_OR_RETURN(const RingQuantizer quantizer,
                        RingQuantizer::Create(spec.clip_range, spec.bits));
  TRIB_ASSIGN_OR_RETURN(SecAggServer server, SecAggServer::Create(params));
  std::vector<uint32_t> ids(cohort.begin(), cohort.end());
  std::vector<uint32_t> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    return absl::InvalidArgumentError("a secure aggregation cohort names a client twice");
  }
  return std::unique_ptr<SecAggRoundServer>(
      new SecAggRoundServer(params, std::move(ids), quantizer, std::move(server)));
}

std::optional<uint32_t> SecAggRoundServer::IndexOf(uint32_t client) const {
  auto it = index_.find(client);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

absl::Status SecAggRoundServer::Receive(SecAggStage stage, uint32_t client,
                                        std::span<const uint8_t> message) {
  const auto start = Clock::now();
  std::lock_guard lock(mu_);
  const int s = static_cast<int>(stage);
  costs_.bytes_up[s] += static_cast<int64_t>(message.size());
  auto received = [&]() -> absl::Status {
    const std::optional<uint32_t> index = IndexOf(client);
    if (!index.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("client ", client, " is not in this secure aggregation round"));
    }
    switch (stage) {
      case SecAggStage::kAdvertise: {
        TRIB_ASSIGN_OR_RETURN(AdvertisedKeys keys, ParseKeys(message, *index));
        return server_.ReceiveKeys(keys);
      }
      case SecAggStage::kShare: {
        TRIB_ASSIGN_OR_RETURN(std::vector<EncryptedShare> shares, ParseShares(message, *index));
        return server_.ReceiveShares(*index, std::move(shares));
      }
      case SecAggStage::kMask: {
        TRIB_ASSIGN_OR_RETURN(MaskedInput input,
                              ParseMaskedInput(message, *index, params_.vector_length));
        return server_.ReceiveMaskedInput(input);
      }
      case SecAggStage::kUnmask: {
        TRIB_ASSIGN_OR_RETURN(UnmaskingShares shares, ParseUnmasking(message, *index));
        return server_.ReceiveUnmaskingShares(shares);
      }
    }
    return absl::InternalError("unknown secure aggregation stage");
  }();
  if (received.ok()) {
    ++costs_.accepted[s];
  } else {
    ++costs_.refused;
  }
  costs_.server_seconds[s] += Since(start);
  return received;
}

absl::Status SecAggRoundServer::Close(SecAggStage stage) {
  const auto start = Clock::now();
  std::lock_guard lock(mu_);
  absl::Status closed;
  switch (stage) {
    case SecAggStage::kAdvertise:
      closed = server_.CloseAdvertising();
      break;
    case SecAggStage::kShare:
      closed = server_.CloseSharing();
      break;
    case SecAggStage::kMask: {
      absl::StatusOr<std::vector<uint32_t>> survivors = server_.CloseMasking();
      if (survivors.ok()) survivors_ = *std::move(survivors);
      closed = survivors.status();
      break;
    }
    case SecAggStage::kUnmask:
      closed = absl::InvalidArgumentError("the unmasking stage ends with Finish()");
      break;
  }
  costs_.server_seconds[static_cast<int>(stage)] += Since(start);
  if (!closed.ok() && abandoned_.ok()) abandoned_ = closed;
  return closed;
}

absl::StatusOr<Bytes> SecAggRoundServer::Reply(SecAggStage stage, uint32_t client) {
  std::lock_guard lock(mu_);
  const std::optional<uint32_t> index = IndexOf(client);
  if (!index.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("client ", client, " is not in this secure aggregation round"));
  }
  Bytes reply;
  switch (stage) {
    case SecAggStage::kAdvertise:
      reply = SerializeKeyList(server_.KeysFor(*index));
      break;
    case SecAggStage::kShare:
      reply = SerializeShares(server_.SharesFor(*index));
      break;
    case SecAggStage::kMask:
      if (!std::binary_search(survivors_.begin(), survivors_.end(), *index)) {
        return absl::FailedPreconditionError(
            absl::StrCat("client ", client, " has no masked input in this round"));
      }
      reply = SerializeSurvivors(survivors_);
      break;
    case SecAggStage::kUnmask:
      return absl::InvalidArgumentError("the unmasking stage has no reply");
  }
  costs_.bytes_down[static_cast<int>(stage)] += static_cast<int64_t>(reply.size());
  return reply;
}

absl::StatusOr<SecureSum> SecAggRoundServer::Finish() {
  const auto start = Clock::now();
  std::lock_guard lock(mu_);
  if (!abandoned_.ok()) return abandoned_;
  absl::StatusOr<std::vector<uint32_t>> ring_sum = server_.Finish();
  SecureSum result;
  if (ring_sum.ok()) {
    result.sum = quantizer_.DequantizeSum(*ring_sum, static_cast<int>(survivors_.size()));
    for (uint32_t index : survivors_) result.clients.push_back(cohort_[index]);
  }
  costs_.server_seconds[static_cast<int>(SecAggStage::kUnmask)] += Since(start);
  if (!ring_sum.ok()) return ring_sum.status();
  return result;
}

SecAggCosts SecAggRoundServer::costs() const {
  std::lock_guard lock(mu_);
  return costs_;
}

bool SecAggRoundServer::HeldBothSecretsOfAClient() const {
  std::lock_guard lock(mu_);
  return server_.HeldBothSecretsOfAClient();
}

// ---------------------------------------------------------------------------------------------
// Client

absl::StatusOr<SecAggRoundClient> SecAggRoundClient::Create(const SecAggSpec& spec, int cohort_size,
                                                            uint32_t index, size_t length,
                                                            uint64_t graph_seed) {
  TRIB_ASSIGN_OR_RETURN(const SecAggParams params,
                        ResolveSecAggParams(spec, cohort_size, length, graph_seed));
  TRIB_ASSIGN_OR_RETURN(const RingQuantizer quantizer,
                        RingQuantizer::Create(spec.clip_range, spec.bits));
  TRIB_ASSIGN_OR_RETURN(SecAggClient client, SecAggClient::Create(params, index));
  return SecAggRoundClient(params, quantizer, std::move(client));
}

Bytes SecAggRoundClient::Advertise() const { return SerializeKeys(client_.AdvertiseKeys()); }

absl::StatusOr<Bytes> SecAggRoundClient::Share(std::span<const uint8_t> key_list) {
  const auto start = Clock::now();
  TRIB_ASSIGN_OR_RETURN(const std::vector<AdvertisedKeys> keys, ParseKeyList(key_list));
  TRIB_ASSIGN_OR_RETURN(const std::vector<EncryptedShare> shares, client_.ShareKeys(keys));
  Bytes message = SerializeShares(shares);
  seconds_[static_cast<int>(SecAggStage::kShare)] += Since(start);
  return message;
}

absl::StatusOr<Bytes> SecAggRoundClient::Mask(std::span<const uint8_t> shares,
                                              std::span<const float> update,
                                              const SymmetricKey& rounding_key) {
  const auto start = Clock::now();
  TRIB_ASSIGN_OR_RETURN(const std::vector<EncryptedShare> received,
                        ParseSharesFor(shares, client_.AdvertiseKeys().from));
  const std::vector<uint32_t> levels = quantizer_.Quantize(update, rounding_key);
  TRIB_ASSIGN_OR_RETURN(const MaskedInput masked, client_.MaskInput(received, levels));
  Bytes message = SerializeMaskedInput(masked);
  seconds_[static_cast<int>(SecAggStage::kMask)] += Since(start);
  return message;
}

absl::StatusOr<Bytes> SecAggRoundClient::Unmask(std::span<const uint8_t> survivors) {
  const auto start = Clock::now();
  TRIB_ASSIGN_OR_RETURN(const std::vector<uint32_t> list, ParseSurvivors(survivors));
  TRIB_ASSIGN_OR_RETURN(const UnmaskingShares shares, client_.Unmask(list));
  Bytes message = SerializeUnmasking(shares);
  seconds_[static_cast<int>(SecAggStage::kUnmask)] += Since(start);
  return message;
}

}  // namespace tributary
