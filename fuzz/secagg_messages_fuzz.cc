// Fuzz target: secure aggregation's wire formats (secagg/secagg_messages.h), which a deployed
// server parses from every client and a client from the server. The first byte picks the parser;
// the rest is the message. A client message that parses is then handed to a round's server in
// its stage, as the coordinator would.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fuzz_seeds.h"
#include "secagg/secagg_messages.h"
#include "secagg/secagg_round.h"

namespace {

using namespace tributary;

constexpr uint32_t kSender = 2;  // the fuzzed client's number in a cohort of 4
constexpr size_t kLength = 8;

SecAggSpec Spec() { return SecAggSpec{.enabled = true, .bits = 16, .clip_range = 1.0}; }

// A fresh round's server with the fuzzed client's advertised keys as its first message.
void IntoARound(std::span<const uint8_t> message) {
  const std::vector<uint32_t> cohort = {10, 11, 12, 13};
  auto server = SecAggRoundServer::Create(Spec(), cohort, kLength, 7);
  if (!server.ok()) __builtin_trap();  // fixed, valid parameters
  (void)(*server)->Receive(SecAggStage::kAdvertise, cohort[kSender], message);
  // A stage's message out of its stage is refused, never used.
  for (SecAggStage stage : {SecAggStage::kShare, SecAggStage::kMask, SecAggStage::kUnmask}) {
    if ((*server)->Receive(stage, cohort[kSender], message).ok()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> message(data + 1, size - 1);
  switch (data[0] % 7) {
    case 0:
      if (ParseKeys(message, kSender).ok()) IntoARound(message);
      break;
    case 1:
      (void)ParseShares(message, kSender);
      break;
    case 2:
      (void)ParseMaskedInput(message, kSender, kLength);
      break;
    case 3:
      (void)ParseUnmasking(message, kSender);
      break;
    case 4:
      (void)ParseKeyList(message);
      break;
    case 5:
      (void)ParseSharesFor(message, kSender);
      break;
    case 6:
      (void)ParseSurvivors(message);
      break;
  }
  return 0;
}

// Real messages of every kind from an honest round of 4 (selector byte first).
std::vector<std::string> TributaryFuzzSeeds() {
  std::vector<std::string> seeds;
  auto add = [&](char kind, const Bytes& bytes) {
    seeds.push_back(std::string(1, kind) + std::string(bytes.begin(), bytes.end()));
  };
  const std::vector<uint32_t> cohort = {10, 11, 12, 13};
  auto server = SecAggRoundServer::Create(Spec(), cohort, kLength, 7);
  std::vector<SecAggRoundClient> clients;
  for (uint32_t i = 0; i < cohort.size(); ++i) {
    clients.push_back(*SecAggRoundClient::Create(Spec(), 4, i, kLength, 7));
    const Bytes keys = clients[i].Advertise();
    if (i == kSender) add(0, keys);
    (void)(*server)->Receive(SecAggStage::kAdvertise, cohort[i], keys);
  }
  (void)(*server)->Close(SecAggStage::kAdvertise);
  for (uint32_t i = 0; i < cohort.size(); ++i) {
    const Bytes key_list = *(*server)->Reply(SecAggStage::kAdvertise, cohort[i]);
    if (i == kSender) add(4, key_list);
    const Bytes shares = *clients[i].Share(key_list);
    if (i == kSender) add(1, shares);
    (void)(*server)->Receive(SecAggStage::kShare, cohort[i], shares);
  }
  (void)(*server)->Close(SecAggStage::kShare);
  const std::vector<float> update(kLength, 0.25f);
  for (uint32_t i = 0; i < cohort.size(); ++i) {
    const Bytes mine = *(*server)->Reply(SecAggStage::kShare, cohort[i]);
    if (i == kSender) add(5, mine);
    const Bytes masked = *clients[i].Mask(mine, update, SymmetricKey{});
    if (i == kSender) add(2, masked);
    (void)(*server)->Receive(SecAggStage::kMask, cohort[i], masked);
  }
  (void)(*server)->Close(SecAggStage::kMask);
  const Bytes survivors = *(*server)->Reply(SecAggStage::kMask, cohort[kSender]);
  add(6, survivors);
  add(3, *clients[kSender].Unmask(survivors));
  return seeds;
}
