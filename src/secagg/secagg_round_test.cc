// A secure-aggregation round as channels run it: wire formats, dropouts at every stage,
// malformed messages, abandonment, and the costs it reports.
#include "secagg/secagg_round.h"

#include <gtest/gtest.h>

#include <numeric>
#include <set>

namespace tributary {
namespace {

// bits = 4 and clip_range = 7.5 make the quantization step exactly 1: values -7.5 + L (L an
// integer level in [0, 15]) are on the grid, so their rounding is exact and the unmasked sum
// can be compared with the plain sum float for float.
SecAggSpec GridSpec() { return {.enabled = true, .bits = 4, .clip_range = 7.5}; }

struct Scenario {
  int clients = 10;
  size_t length = 64;
  // Clients (by cohort position) that stop before sending the stage's message.
  std::array<std::set<uint32_t>, kSecAggStages> drop_before;
  // A client whose message of a stage is replaced by garbage.
  std::optional<std::pair<SecAggStage, uint32_t>> garbage;
};

struct Outcome {
  absl::StatusOr<SecureSum> sum = absl::UnknownError("not run");
  std::vector<float> plain;  // the sum of the inputs that should be in it
  SecAggCosts costs;
  bool held_both = false;
};

std::vector<float> InputOf(uint32_t client, size_t length) {
  std::vector<float> v(length);
  for (size_t i = 0; i < length; ++i) v[i] = -7.5f + static_cast<float>((client * 7 + i * 3) % 16);
  return v;
}

Outcome RunRound(const SecAggSpec& spec, const Scenario& s) {
  Outcome out;
  std::vector<uint32_t> cohort(s.clients);
  for (int i = 0; i < s.clients; ++i) cohort[i] = 1000 + 3 * i;  // ids are not positions
  auto server = SecAggRoundServer::Create(spec, cohort, s.length, /*graph_seed=*/42);
  if (!server.ok()) {
    out.sum = server.status();
    return out;
  }
  std::vector<std::optional<SecAggRoundClient>> clients;
  for (int i = 0; i < s.clients; ++i) {
    auto c = SecAggRoundClient::Create(spec, s.clients, i, s.length, 42);
    EXPECT_TRUE(c.ok()) << c.status();
    clients.emplace_back(*std::move(c));
  }
  std::vector<bool> alive(s.clients, true);
  std::vector<Bytes> inbox(s.clients);
  auto close = [&](SecAggStage stage) -> absl::Status {
    absl::Status closed = (*server)->Close(stage);
    if (!closed.ok()) return closed;
    for (int i = 0; i < s.clients; ++i) {
      if (!alive[i]) continue;
      absl::StatusOr<Bytes> reply = (*server)->Reply(stage, cohort[i]);
      if (reply.ok()) {
        inbox[i] = *std::move(reply);
      } else {
        alive[i] = false;
      }
    }
    return absl::OkStatus();
  };
  for (int st = 0; st < kSecAggStages; ++st) {
    const auto stage = static_cast<SecAggStage>(st);
    for (int i = 0; i < s.clients; ++i) {
      if (!alive[i]) continue;
      if (s.drop_before[st].contains(i)) {
        alive[i] = false;
        continue;
      }
      absl::StatusOr<Bytes> message;
      switch (stage) {
        case SecAggStage::kAdvertise:
          message = clients[i]->Advertise();
          break;
        case SecAggStage::kShare:
          message = clients[i]->Share(inbox[i]);
          break;
        case SecAggStage::kMask:
          message = clients[i]->Mask(inbox[i], InputOf(i, s.length), SymmetricKey{});
          break;
        case SecAggStage::kUnmask:
          message = clients[i]->Unmask(inbox[i]);
          break;
      }
      if (!message.ok()) {
        alive[i] = false;
        continue;
      }
      if (s.garbage && s.garbage->first == stage && s.garbage->second == uint32_t(i)) {
        (*message)[message->size() / 2] ^= 0x5a;
        message->push_back(7);
      }
      if (!(*server)->Receive(stage, cohort[i], *message).ok()) alive[i] = false;
    }
    if (stage == SecAggStage::kUnmask) break;
    if (absl::Status closed = close(stage); !closed.ok()) {
      out.sum = closed;
      out.costs = (*server)->costs();
      return out;
    }
    if (stage == SecAggStage::kMask) {
      out.plain.assign(s.length, 0.0f);
      for (int i = 0; i < s.clients; ++i) {
        if (!alive[i]) continue;
        const std::vector<float> x = InputOf(i, s.length);
        for (size_t j = 0; j < s.length; ++j) out.plain[j] += x[j];
      }
    }
  }
  out.sum = (*server)->Finish();
  out.costs = (*server)->costs();
  out.held_both = (*server)->HeldBothSecretsOfAClient();
  return out;
}

std::set<uint32_t> Range(uint32_t from, uint32_t to) {
  std::set<uint32_t> r;
  for (uint32_t i = from; i < to; ++i) r.insert(i);
  return r;
}

TEST(SecAggRoundTest, TheSumIsExactWithDropoutsAtEveryStage) {
  // 0%, 10% and 30% of 20 clients dropping, before each of the four stages.
  for (int dropping : {0, 2, 6}) {
    for (int stage = 0; stage < kSecAggStages; ++stage) {
      Scenario s{.clients = 20};
      s.drop_before[stage] = Range(20 - dropping, 20);
      Outcome out = RunRound(GridSpec(), s);
      ASSERT_TRUE(out.sum.ok()) << dropping << " before stage " << stage << ": "
                                << out.sum.status();
      // Dropping before the masked input takes a client out of the sum; dropping after it
      // does not.
      const size_t in_sum = stage <= 2 ? 20 - dropping : 20;
      EXPECT_EQ(out.sum->clients.size(), in_sum);
      ASSERT_EQ(out.sum->sum.size(), out.plain.size());
      for (size_t j = 0; j < out.plain.size(); ++j) {
        ASSERT_EQ(out.sum->sum[j], out.plain[j]) << dropping << " " << stage << " " << j;
      }
      EXPECT_FALSE(out.held_both);
    }
  }
}

TEST(SecAggRoundTest, ASparseGraphRoundIsExactToo) {
  // 80 clients: SecAgg+'s graph with 4 ceil(log2 80) = 28 neighbours.
  Scenario s{.clients = 80, .length = 16};
  s.drop_before[2] = Range(0, 8);
  Outcome out = RunRound(GridSpec(), s);
  ASSERT_TRUE(out.sum.ok()) << out.sum.status();
  for (size_t j = 0; j < out.plain.size(); ++j) ASSERT_EQ(out.sum->sum[j], out.plain[j]);
}

TEST(SecAggRoundTest, AMalformedMessageDropsItsSenderAndTheRoundCompletes) {
  for (int stage = 0; stage < kSecAggStages; ++stage) {
    Scenario s;
    s.garbage = {{static_cast<SecAggStage>(stage), 3}};
    Outcome out = RunRound(GridSpec(), s);
    ASSERT_TRUE(out.sum.ok()) << stage << ": " << out.sum.status();
    EXPECT_EQ(out.costs.refused, 1) << stage;
    for (size_t j = 0; j < out.plain.size(); ++j) ASSERT_EQ(out.sum->sum[j], out.plain[j]);
  }
}

TEST(SecAggRoundTest, BelowTheThresholdTheRoundIsAbandonedAndNothingIsRevealed) {
  // 10 clients, t = 5: six dropping at any stage leave too few.
  for (int stage = 0; stage < kSecAggStages; ++stage) {
    Scenario s;
    s.drop_before[stage] = Range(0, 6);
    Outcome out = RunRound(GridSpec(), s);
    ASSERT_FALSE(out.sum.ok()) << stage;
    EXPECT_NE(out.sum.status().message().find("abandoned"), std::string::npos) << out.sum.status();
  }
}

TEST(SecAggRoundTest, CostsAreCountedByStage) {
  Scenario s;
  s.drop_before[2] = {9};
  Outcome out = RunRound(GridSpec(), s);
  ASSERT_TRUE(out.sum.ok()) << out.sum.status();
  EXPECT_EQ(out.costs.accepted[0], 10);
  EXPECT_EQ(out.costs.accepted[1], 10);
  EXPECT_EQ(out.costs.accepted[2], 9);
  EXPECT_EQ(out.costs.accepted[3], 9);
  EXPECT_EQ(out.costs.bytes_up[0], 10 * 68);
  // A masked input: the sender, a varint count and the words.
  EXPECT_EQ(out.costs.bytes_up[2], 9 * (4 + 1 + 4 * 64));
  // Every survivor receives the list of the 9 survivors.
  EXPECT_EQ(out.costs.bytes_down[2], 9 * (1 + 4 * 9));
  for (int st = 0; st < kSecAggStages; ++st) EXPECT_GT(out.costs.bytes_up[st], 0) << st;
}

TEST(SecAggRoundTest, DefaultParametersAndTheirErrors) {
  const SecAggSpec spec = GridSpec();
  auto small = ResolveSecAggParams(spec, 10, 8, 1);
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(small->Degree(), 9);
  EXPECT_EQ(small->threshold, 5);
  auto large = ResolveSecAggParams(spec, 1000, 8, 1);
  ASSERT_TRUE(large.ok()) << large.status();
  EXPECT_EQ(large->Degree(), 40);
  EXPECT_EQ(large->threshold, 21);
  SecAggSpec bad = spec;
  bad.threshold = 12;  // above the 9 neighbours of a 10-client cohort
  auto too_high = ResolveSecAggParams(bad, 10, 8, 1);
  ASSERT_FALSE(too_high.ok());
  EXPECT_NE(too_high.status().message().find("secagg.threshold"), std::string::npos);
  bad = spec;
  bad.bits = 30;  // 30 + log2(10) > 32: the sum could wrap
  auto wraps = ResolveSecAggParams(bad, 10, 8, 1);
  ASSERT_FALSE(wraps.ok());
  EXPECT_NE(wraps.status().message().find("secagg.bits"), std::string::npos);
}

TEST(SecAggMessagesTest, EveryTruncationAndAWrongSenderAreRefused) {
  AdvertisedKeys keys{.from = 4};
  keys.cipher_key[0] = 1;
  const Bytes k = SerializeKeys(keys);
  ASSERT_TRUE(ParseKeys(k, 4).ok());
  EXPECT_FALSE(ParseKeys(k, 5).ok());
  MaskedInput input{.from = 2, .masked = {1, 2, 3}};
  const Bytes m = SerializeMaskedInput(input);
  ASSERT_TRUE(ParseMaskedInput(m, 2, 3).ok());
  EXPECT_FALSE(ParseMaskedInput(m, 2, 4).ok());
  UnmaskingShares unmask{.from = 1};
  unmask.self_seed_shares.push_back({3, ShamirShare{.x = 2}});
  const Bytes u = SerializeUnmasking(unmask);
  ASSERT_TRUE(ParseUnmasking(u, 1).ok());
  const std::vector<EncryptedShare> shares = {{.from = 1, .to = 2, .sealed = Bytes(136, 9)}};
  const Bytes sh = SerializeShares(shares);
  ASSERT_TRUE(ParseShares(sh, 1).ok());
  EXPECT_FALSE(ParseSharesFor(sh, 3).ok());
  const std::vector<uint32_t> survivors = {1, 4, 9};
  const Bytes sv = SerializeSurvivors(survivors);
  ASSERT_TRUE(ParseSurvivors(sv).ok());
  const Bytes kl = SerializeKeyList(std::vector<AdvertisedKeys>{keys, keys});
  ASSERT_TRUE(ParseKeyList(kl).ok());
  auto prefixes_fail = [](const Bytes& bytes, auto parse) {
    for (size_t n = 0; n < bytes.size(); ++n) {
      EXPECT_FALSE(parse(std::span<const uint8_t>(bytes.data(), n)).ok()) << n;
    }
    Bytes longer = bytes;
    longer.push_back(0);
    EXPECT_FALSE(parse(longer).ok());
  };
  prefixes_fail(k, [](auto b) { return ParseKeys(b, 4); });
  prefixes_fail(m, [](auto b) { return ParseMaskedInput(b, 2, 3); });
  prefixes_fail(u, [](auto b) { return ParseUnmasking(b, 1); });
  prefixes_fail(sh, [](auto b) { return ParseShares(b, 1); });
  prefixes_fail(sv, [](auto b) { return ParseSurvivors(b); });
  prefixes_fail(kl, [](auto b) { return ParseKeyList(b); });
  const std::vector<uint32_t> unordered = {4, 1};
  EXPECT_FALSE(ParseSurvivors(SerializeSurvivors(unordered)).ok());
}

}  // namespace
}  // namespace tributary
