// Secure aggregation: the primitives, and the protocol's exactness, dropout recovery and
// privacy promises, on in-process clients and server.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "secagg/ring_quantizer.h"
#include "secagg/secagg_crypto.h"
#include "secagg/secagg_params.h"
#include "secagg/secagg_protocol.h"
#include "secagg/shamir.h"

namespace tributary {
namespace {

Secret Filled(uint8_t first) {
  Secret s;
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(first + 7 * i);
  return s;
}

TEST(ShamirTest, EverySubsetAtTheThresholdRecoversAndFewerDoNot) {
  const Secret secret = Filled(200);
  const std::vector<uint32_t> parties = {1, 2, 3, 4, 5, 6};
  const int t = 4;
  auto shares = ShamirSplit(secret, t, parties);
  ASSERT_TRUE(shares.ok()) << shares.status();
  for (uint32_t mask = 0; mask < (1u << parties.size()); ++mask) {
    std::vector<ShamirShare> subset;
    for (size_t i = 0; i < parties.size(); ++i) {
      if (mask & (1u << i)) subset.push_back((*shares)[i]);
    }
    absl::StatusOr<Secret> recovered = ShamirRecover(subset, t);
    if (static_cast<int>(subset.size()) >= t) {
      ASSERT_TRUE(recovered.ok()) << mask << ": " << recovered.status();
      EXPECT_EQ(*recovered, secret) << mask;
    } else {
      EXPECT_FALSE(recovered.ok()) << mask;
    }
  }
  // t - 1 shares are consistent with any secret: interpolating them with a forged t-th share
  // gives something else (and usually not even a secret).
  std::vector<ShamirShare> forged(shares->begin(), shares->begin() + t);
  forged.back().y[0] ^= 1;
  absl::StatusOr<Secret> wrong = ShamirRecover(forged, t);
  EXPECT_TRUE(!wrong.ok() || *wrong != secret);
}

TEST(ShamirTest, BadArgumentsAndSharesAreRefused) {
  const std::vector<uint32_t> parties = {1, 2, 3};
  EXPECT_FALSE(ShamirSplit(Filled(1), 0, parties).ok());
  EXPECT_FALSE(ShamirSplit(Filled(1), 4, parties).ok());
  const std::vector<uint32_t> repeated = {1, 1, 2};
  EXPECT_FALSE(ShamirSplit(Filled(1), 2, repeated).ok());
  const std::vector<uint32_t> zero = {0, 1, 2};
  EXPECT_FALSE(ShamirSplit(Filled(1), 2, zero).ok());
  auto shares = *ShamirSplit(Filled(1), 2, parties);
  const auto bytes = shares[0].Serialize();
  EXPECT_EQ(ShamirShare::Parse(bytes)->y, shares[0].y);
  EXPECT_FALSE(ShamirShare::Parse(std::span<const uint8_t>(bytes).first(10)).ok());
  std::vector<ShamirShare> twice = {shares[0], shares[0]};
  EXPECT_FALSE(ShamirRecover(twice, 2).ok());
}

TEST(SecAggCryptoTest, KeyAgreementIsSymmetricAndSealingAuthenticates) {
  const KeyPair a = KeyPair::Generate(), b = KeyPair::Generate(), c = KeyPair::Generate();
  EXPECT_EQ(*AgreeKey(a, b.public_key), *AgreeKey(b, a.public_key));
  EXPECT_NE(*AgreeKey(a, b.public_key), *AgreeKey(a, c.public_key));
  EXPECT_EQ(KeyPair::FromSecret(a.secret_key).public_key, a.public_key);
  const PublicKey degenerate{};  // the all-zero point has low order
  EXPECT_FALSE(AgreeKey(a, degenerate).ok());

  const SymmetricKey key = *AgreeKey(a, b.public_key);
  const std::vector<uint8_t> message = {1, 2, 3, 4, 5};
  const std::vector<uint8_t> context = {9, 9};
  std::vector<uint8_t> sealed = Seal(key, message, context);
  EXPECT_EQ(*Open(key, sealed, context), message);
  EXPECT_FALSE(Open(key, sealed, std::vector<uint8_t>{9, 8}).ok());
  EXPECT_FALSE(Open(*AgreeKey(a, c.public_key), sealed, context).ok());
  sealed[sealed.size() / 2] ^= 1;
  EXPECT_FALSE(Open(key, sealed, context).ok());
}

TEST(SecAggCryptoTest, MasksAreDeterministicInTheKeyAndCancel) {
  const SymmetricKey key = *AgreeKey(KeyPair::Generate(), KeyPair::Generate().public_key);
  std::vector<uint32_t> a(40000, 5), b(40000, 5);  // past one 64 KiB keystream chunk
  AddMask(key, a, false);
  AddMask(key, b, false);
  EXPECT_EQ(a, b);
  EXPECT_NE(a[0], 5u);
  AddMask(key, a, true);
  EXPECT_EQ(a, std::vector<uint32_t>(40000, 5));
  // The second chunk continues the stream rather than repeating the first.
  std::vector<uint32_t> stream(32768, 0);
  AddMask(key, stream, false);
  EXPECT_FALSE(std::equal(stream.begin(), stream.begin() + 16384, stream.begin() + 16384));
}

TEST(SecAggParamsTest, ConditionsAreCheckedWithClearErrors) {
  SecAggParams p{.num_clients = 10, .neighbors = 0, .threshold = 6, .vector_length = 4};
  EXPECT_TRUE(ValidateSecAggParams(p).ok());
  p.threshold = 4;  // not above half of 9 neighbours
  EXPECT_NE(ValidateSecAggParams(p).message().find("half"), std::string::npos);
  p.threshold = 10;  // above the neighbour count
  EXPECT_NE(ValidateSecAggParams(p).message().find("neighbour count"), std::string::npos);
  p = {.num_clients = 100, .neighbors = 10, .threshold = 6, .vector_length = 4, .input_bits = 26};
  EXPECT_NE(ValidateSecAggParams(p).message().find("wrap"), std::string::npos);
  p.input_bits = 25;
  EXPECT_TRUE(ValidateSecAggParams(p).ok());
}

TEST(SecAggParamsTest, HararyGraphIsRegularSymmetricAndSeeded) {
  const SecAggParams p{.num_clients = 50, .neighbors = 8, .threshold = 5, .graph_seed = 3};
  const auto graph = NeighborGraph(p);
  for (uint32_t i = 0; i < graph.size(); ++i) {
    EXPECT_EQ(graph[i].size(), 8u);
    for (uint32_t j : graph[i]) {
      EXPECT_NE(j, i);
      EXPECT_TRUE(std::binary_search(graph[j].begin(), graph[j].end(), i));
    }
  }
  EXPECT_EQ(NeighborGraph(p), graph);
  SecAggParams other = p;
  other.graph_seed = 4;
  EXPECT_NE(NeighborGraph(other), graph);
}

// One protocol round with the clients in `drop_at[stage]` leaving before that stage (0: never
// advertise, 1: no shares, 2: no masked input, 3: no unmasking shares). Returns the server's
// result, and the plain sum of the inputs of the clients whose masked input arrived.
struct RoundResult {
  absl::StatusOr<std::vector<uint32_t>> sum = absl::UnknownError("not run");
  std::vector<uint32_t> expected;
  bool held_both = false;
};

RoundResult RunRound(const SecAggParams& params, const std::vector<std::set<uint32_t>>& drop_at,
                     uint32_t input_seed) {
  RoundResult result;
  std::mt19937 rng(input_seed);
  std::vector<std::vector<uint32_t>> inputs(params.num_clients,
                                            std::vector<uint32_t>(params.vector_length));
  for (auto& input : inputs) {
    for (uint32_t& v : input) v = rng() % (1u << params.input_bits);
  }
  auto server = SecAggServer::Create(params);
  if (!server.ok()) {
    result.sum = server.status();
    return result;
  }
  std::vector<SecAggClient> clients;
  for (int i = 0; i < params.num_clients; ++i) clients.push_back(*SecAggClient::Create(params, i));
  auto dropped = [&](int stage, uint32_t c) {
    for (int s = 0; s <= stage; ++s) {
      if (drop_at[s].contains(c)) return true;
    }
    return false;
  };
  const int n = params.num_clients;
  for (int c = 0; c < n; ++c) {
    if (!dropped(0, c)) EXPECT_TRUE(server->ReceiveKeys(clients[c].AdvertiseKeys()).ok());
  }
  if (absl::Status s = server->CloseAdvertising(); !s.ok()) {
    result.sum = s;
    return result;
  }
  for (int c = 0; c < n; ++c) {
    if (dropped(1, c)) continue;
    auto shares = clients[c].ShareKeys(server->KeysFor(c));
    if (shares.ok()) {
      EXPECT_TRUE(server->ReceiveShares(c, *shares).ok());
    }
  }
  if (absl::Status s = server->CloseSharing(); !s.ok()) {
    result.sum = s;
    return result;
  }
  for (int c = 0; c < n; ++c) {
    if (dropped(2, c)) continue;
    auto masked = clients[c].MaskInput(server->SharesFor(c), inputs[c]);
    if (masked.ok()) {
      EXPECT_TRUE(server->ReceiveMaskedInput(*masked).ok());
    }
  }
  absl::StatusOr<std::vector<uint32_t>> survivors = server->CloseMasking();
  if (!survivors.ok()) {
    result.sum = survivors.status();
    return result;
  }
  result.expected.assign(params.vector_length, 0);
  for (uint32_t c : *survivors) {
    for (size_t i = 0; i < params.vector_length; ++i) result.expected[i] += inputs[c][i];
  }
  for (int c = 0; c < n; ++c) {
    if (dropped(3, c) || !std::binary_search(survivors->begin(), survivors->end(), c)) continue;
    auto shares = clients[c].Unmask(*survivors);
    if (shares.ok()) {
      EXPECT_TRUE(server->ReceiveUnmaskingShares(*shares).ok());
    }
  }
  result.sum = server->Finish();
  result.held_both = server->HeldBothSecretsOfAClient();
  return result;
}

// Clients dropping at every stage, complete and sparse graphs: the unmasked sum is the plain
// sum of the survivors' inputs, integer for integer, and the server never held both secrets of
// a client. (A sparse graph must leave t of each client's k neighbours: 30% dropouts need a
// larger k than 10%.)
TEST(SecAggProtocolTest, UnmaskedSumIsExactWithDropoutsAtEveryStage) {
  struct Case {
    int n, k, t;
    double drop;  // fraction of clients dropping, spread over the four stages
  };
  for (const Case& c : {Case{10, 0, 6, 0.0}, Case{10, 0, 6, 0.1}, Case{10, 0, 6, 0.3},
                        Case{40, 12, 8, 0.0}, Case{40, 12, 8, 0.1}, Case{40, 20, 11, 0.3}}) {
    const SecAggParams params{.num_clients = c.n,
                              .neighbors = c.k,
                              .threshold = c.t,
                              .graph_seed = 11,
                              .vector_length = 300,
                              .input_bits = 16};
    std::vector<std::set<uint32_t>> drop_at(4);
    const int drops = static_cast<int>(std::round(c.drop * c.n));
    for (int d = 0; d < drops; ++d) drop_at[d % 4].insert(static_cast<uint32_t>(3 * d + 1) % c.n);
    RoundResult r = RunRound(params, drop_at, 7);
    ASSERT_TRUE(r.sum.ok()) << "n " << c.n << " drop " << c.drop << ": " << r.sum.status();
    EXPECT_EQ(*r.sum, r.expected) << "n " << c.n << " drop " << c.drop;
    EXPECT_FALSE(r.held_both);
  }
}

TEST(SecAggProtocolTest, TooFewSurvivorsAbandonTheRound) {
  const SecAggParams params{
      .num_clients = 8, .threshold = 5, .graph_seed = 1, .vector_length = 10, .input_bits = 8};
  for (int stage = 0; stage < 4; ++stage) {
    std::vector<std::set<uint32_t>> drop_at(4);
    drop_at[stage] = {0, 1, 2, 3};  // 4 of 8 left, below t = 5
    RoundResult r = RunRound(params, drop_at, 3);
    EXPECT_FALSE(r.sum.ok()) << stage;
    EXPECT_NE(r.sum.status().message().find("abandoned"), std::string::npos) << r.sum.status();
  }
  // Enough clients overall, but one dropped client's neighbourhood keeps fewer than t of its
  // shares: its masks cannot be removed, so nothing is released.
  const SecAggParams sparse{.num_clients = 40,
                            .neighbors = 12,
                            .threshold = 8,
                            .graph_seed = 11,
                            .vector_length = 50,
                            .input_bits = 16};
  std::vector<std::set<uint32_t>> drop_at(4);
  for (int d = 0; d < 12; ++d) drop_at[d % 4].insert(static_cast<uint32_t>(3 * d + 1) % 40);
  RoundResult r = RunRound(sparse, drop_at, 7);
  ASSERT_FALSE(r.sum.ok());
  EXPECT_NE(r.sum.status().message().find("abandoned at unmasking"), std::string::npos)
      << r.sum.status();
}

// What the server sees of one client, its masked input, is uniform over the ring: a chi-square
// test on the top 4 bits of 20,000 values of a constant input.
TEST(SecAggProtocolTest, AMaskedInputLooksUniform) {
  const SecAggParams params{
      .num_clients = 5, .threshold = 3, .graph_seed = 2, .vector_length = 20000, .input_bits = 8};
  auto server = *SecAggServer::Create(params);
  std::vector<SecAggClient> clients;
  for (int i = 0; i < 5; ++i) clients.push_back(*SecAggClient::Create(params, i));
  for (auto& c : clients) ASSERT_TRUE(server.ReceiveKeys(c.AdvertiseKeys()).ok());
  ASSERT_TRUE(server.CloseAdvertising().ok());
  for (uint32_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(server.ReceiveShares(i, *clients[i].ShareKeys(server.KeysFor(i))).ok());
  }
  ASSERT_TRUE(server.CloseSharing().ok());
  const std::vector<uint32_t> constant(params.vector_length, 7);
  MaskedInput masked = *clients[0].MaskInput(server.SharesFor(0), constant);
  std::vector<double> counts(16, 0.0);
  for (uint32_t v : masked.masked) counts[v >> 28] += 1.0;
  const double expected = params.vector_length / 16.0;
  double chi2 = 0.0;
  for (double c : counts) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 37.7);  // 15 degrees of freedom, p = 0.001
}

TEST(SecAggProtocolTest, MalformedMessagesAreRefused) {
  const SecAggParams params{
      .num_clients = 4, .threshold = 3, .graph_seed = 2, .vector_length = 8, .input_bits = 8};
  auto server = *SecAggServer::Create(params);
  std::vector<SecAggClient> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(*SecAggClient::Create(params, i));
  AdvertisedKeys stranger = clients[0].AdvertiseKeys();
  stranger.from = 9;
  EXPECT_FALSE(server.ReceiveKeys(stranger).ok());
  for (auto& c : clients) ASSERT_TRUE(server.ReceiveKeys(c.AdvertiseKeys()).ok());
  EXPECT_FALSE(server.ReceiveKeys(clients[1].AdvertiseKeys()).ok());  // twice
  ASSERT_TRUE(server.CloseAdvertising().ok());
  std::vector<EncryptedShare> shares = *clients[0].ShareKeys(server.KeysFor(0));
  std::vector<EncryptedShare> short_list(shares.begin(), shares.end() - 1);
  EXPECT_FALSE(server.ReceiveShares(0, short_list).ok());
  EXPECT_FALSE(server.ReceiveShares(1, shares).ok());         // someone else's
  EXPECT_FALSE(server.ReceiveMaskedInput({.from = 0}).ok());  // wrong stage
  // A client refuses a share that was tampered with.
  for (uint32_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(server.ReceiveShares(i, *clients[i].ShareKeys(server.KeysFor(i))).ok());
  }
  ASSERT_TRUE(server.CloseSharing().ok());
  std::vector<EncryptedShare> received = server.SharesFor(2);
  received[0].sealed[30] ^= 1;
  EXPECT_FALSE(clients[2].MaskInput(received, std::vector<uint32_t>(8, 1)).ok());
  EXPECT_FALSE(clients[3].MaskInput(server.SharesFor(3), std::vector<uint32_t>(8, 256)).ok());
  MaskedInput wrong_length =
      *clients[3].MaskInput(server.SharesFor(3), std::vector<uint32_t>(8, 1));
  wrong_length.masked.pop_back();
  EXPECT_FALSE(server.ReceiveMaskedInput(wrong_length).ok());
}

TEST(RingQuantizerTest, StochasticRoundingIsUnbiasedAndTheSumMapsBack) {
  const RingQuantizer q = *RingQuantizer::Create(1.0, 8);
  const std::vector<float> values = {-2.0f, -1.0f, -0.3f, 0.0f, 0.123f, 0.5f, 1.0f, 3.0f};
  const int n = 2000;
  std::vector<uint32_t> sum(values.size(), 0);
  for (int k = 0; k < n; ++k) {
    const SymmetricKey key = *AgreeKey(KeyPair::Generate(), KeyPair::Generate().public_key);
    std::vector<uint32_t> levels = q.Quantize(values, key);
    for (size_t i = 0; i < values.size(); ++i) {
      ASSERT_LE(levels[i], 255u);
      sum[i] += levels[i];
    }
  }
  const std::vector<float> mean_sum = q.DequantizeSum(sum, n);
  for (size_t i = 0; i < values.size(); ++i) {
    const double clipped = std::clamp(values[i], -1.0f, 1.0f);
    // One level is 2/255; the mean of 2000 roundings is within a few thousandths.
    EXPECT_NEAR(mean_sum[i] / n, clipped, 0.002) << values[i];
  }
  EXPECT_FALSE(RingQuantizer::Create(0.0, 8).ok());
  EXPECT_FALSE(RingQuantizer::Create(1.0, 32).ok());
}

}  // namespace
}  // namespace tributary
