// Test fixture: secure aggregation deployed with real dropouts. Client processes are killed
// (SIGKILL) mid-round, before the protocol stages at which `tributary simulate` drops the same
// clients (secagg.stage_dropout; the clients run with --chaos-secagg-dropout). The server must
// unmask exactly the simulated sum: the same survivors, the same model bit for bit. The
// simulated sum is itself the integer sum of the survivors' quantized inputs (SecAggRoundTest),
// so this is the deployed exactness check. Cases: deploy_secagg_dropout_test.cc (default suite)
// and deploy_secagg_dropout_slow_test.cc.
#ifndef TRIBUTARY_DEPLOY_SECAGG_DROPOUT_FIXTURE_H_
#define TRIBUTARY_DEPLOY_SECAGG_DROPOUT_FIXTURE_H_

#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "deploy/deploy_test_fixture.h"
#include "engine/secure_aggregation.h"

namespace tributary {

inline constexpr int kDropoutClients = 10;
inline constexpr int kKilledBySigkill = 128 + 9;  // a killed process's exit status

struct DropoutCase {
  double stage_dropout = 0.0;
  uint64_t seed = 0;
  // Clients the simulator drops before the share keys, the masked input, the unmasking.
  std::array<int, 3> dropouts{};
};

class DeploySecAggDropoutTest : public DeployTest {
 protected:
  void ExpectKilledClientsLeaveTheSimulatedSum(const DropoutCase& c) {
    constexpr int n = kDropoutClients;
    WriteTokens(n);
    ASSERT_NO_FATAL_FAILURE(
        Simulate({"secagg.enabled=true", "compress.uplink=fp32", "compress.error_feedback=false",
                  "strategy.weighting=uniform", "run.rounds=1", absl::StrCat("run.seed=", c.seed),
                  absl::StrCat("data.num_clients=", n), absl::StrCat("run.clients_per_round=", n),
                  absl::StrCat("secagg.stage_dropout=", c.stage_dropout)}));
    // Who dies before which stage, as the simulator decides it.
    const SecAggSpec spec{.enabled = true, .stage_dropout = c.stage_dropout};
    std::vector<bool> dies(n, false);
    std::array<int, 3> deaths{};
    for (int client = 0; client < n; ++client) {
      for (SecAggStage stage : {SecAggStage::kShare, SecAggStage::kMask, SecAggStage::kUnmask}) {
        if (DropsBeforeStage(spec, c.seed, 1, client, stage)) {
          dies[client] = true;
          ++deaths[static_cast<int>(stage) - 1];
          break;
        }
      }
    }
    ASSERT_EQ(deaths, c.dropouts) << "the seed no longer drops where the case says";

    auto server = StartServer("srv", {"--insecure", "--listen", "127.0.0.1:0", "--wait-for-clients",
                                      std::to_string(n), "--liveness-timeout", "2"});
    const std::string port = ServerPort("srv", *server);
    std::vector<std::unique_ptr<Process>> clients;
    for (int client = 0; client < n; ++client) {
      clients.push_back(StartClient(client, port, {"--insecure", "--chaos-secagg-dropout"}));
    }
    ASSERT_EQ(server->Wait(300s), 0) << server->Output();
    for (int client = 0; client < n; ++client) {
      EXPECT_EQ(clients[client]->Wait(60s), dies[client] ? kKilledBySigkill : 0)
          << clients[client]->Output();
    }
    const auto simulated = ReadMetrics(dir_ / "sim" / "metrics.jsonl");
    const auto deployed = ReadMetrics(dir_ / "srv" / "metrics.jsonl");
    ASSERT_EQ(simulated.size(), 1u);
    ASSERT_EQ(deployed.size(), 1u);
    ExpectSameLearning(simulated[0], deployed[0]);
    // Killed before the share keys or the masked input: dropped. Killed before the unmasking:
    // its input is in the sum, and its neighbours' shares of its self-mask seed unmask it.
    EXPECT_EQ(deployed[0]["clients_dropped"], deaths[0] + deaths[1]);
    EXPECT_EQ(deployed[0]["secagg"]["clients_summed"], n - deaths[0] - deaths[1]);
    EXPECT_EQ(deployed[0]["secagg"]["abandoned"], false);
    EXPECT_EQ(simulated[0]["secagg"]["clients_summed"], deployed[0]["secagg"]["clients_summed"]);
    ExpectSameModel();
  }
};

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_SECAGG_DROPOUT_FIXTURE_H_
