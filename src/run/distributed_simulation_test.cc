// `mpirun -n R tributary simulate`: the same metrics and the same model bytes on 1 and 2 ranks
// as in one process (4 ranks: distributed_simulation_slow_test.cc).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "run/distributed_simulation_fixture.h"

namespace tributary {
namespace {

#ifdef TRIBUTARY_MPIEXEC
TEST_F(DistributedSimulationTest, OneAndTwoRanksGiveTheSingleProcessRunBitForBit) {
  for (const char* strategy :
       {"--set strategy.name=fedavg", "--set strategy.name=fedadam --set strategy.server_lr=0.01",
        "--set strategy.name=scaffold", "--set strategy.name=median"}) {
    ExpectSameResultsOnRanks(*this, strategy, {1, 2});
  }
  // Each rank spills the state of the clients it owns past the budget (two of these 473 kB
  // residuals) and reads it back.
  ExpectSameResultsOnRanks(*this, "--set compute.client_state_mb=1 --set model.hidden=128", {2});
  // Without client state each round's cohort is balanced over the ranks afresh.
  ExpectSameResultsOnRanks(*this, "--set compress.error_feedback=false --set compress.uplink=fp32",
                           {2});
}

// Killed (SIGKILL to both ranks and mpirun) once 3 of 8 rounds are reported, then resumed on 2
// ranks: each rank goes on from its own checkpoint (the clients it owns), and the results are those
// of the one-process run never stopped.
TEST_F(DistributedSimulationTest, KilledTwoRankRunResumesToTheOneProcessResults) {
  const std::string rounds =
      "--set run.rounds=8 --set train.momentum=0.9 "
      "--set train.keep_optimizer_state=true";
  CommandResult alone = Simulate("", "alone", rounds);
  ASSERT_EQ(alone.exit_code, 0) << alone.output;
  const std::string cut = (dir() / "cut").string();
  const CommandResult killed =
      RunShell("(" + Mpirun(2) + " " + TRIBUTARY_BINARY + " simulate " +
               (dir() / "config.toml").string() + " --quiet --checkpoint-every 1 --out " + cut +
               " " + rounds + " & p=$!; while kill -0 $p 2>/dev/null && [ \"$(cat " + cut +
               "/metrics.jsonl 2>/dev/null | wc -l)\" -lt 3 ]; do sleep 0.005; done; pkill -9 -P "
               "$p; kill -9 $p; wait $p; echo \"lines $(wc -l < " +
               cut + "/metrics.jsonl)\")");
  const size_t lines = killed.output.rfind("lines ");
  ASSERT_NE(lines, std::string::npos) << killed.output;
  const int reported = std::stoi(killed.output.substr(lines + 6));
  ASSERT_GE(reported, 3) << killed.output;
  ASSERT_LT(reported, 8) << "the run ended before it was killed\n" << killed.output;
  CommandResult resumed = RunShell(Mpirun(2) + " " + TRIBUTARY_BINARY + " simulate " + cut +
                                   "/config.toml --out " + cut + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(Metrics(cut), Metrics(dir() / "alone"));
  EXPECT_TRUE(ReadFile(std::filesystem::path(cut) / "model.pt") ==
              ReadFile(dir() / "alone" / "model.pt"));
  EXPECT_FALSE(std::filesystem::exists(cut + "/checkpoint.rank1.bin"));
}

TEST_F(DistributedSimulationTest, ARankThatFailsEndsTheJobWithItsError) {
  CommandResult first = Simulate("", "taken", "");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  // Without --overwrite rank 0 refuses the folder; rank 1 must not wait for it forever.
  CommandResult run =
      RunShell(Mpirun(2) + " " + TRIBUTARY_BINARY + " simulate " +
               (dir() / "config.toml").string() + " --out " + (dir() / "taken").string());
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("already holds a run"), std::string::npos) << run.output;

  CommandResult secure = Simulate(Mpirun(2), "secure",
                                  "--set secagg.enabled=true --set compress.uplink=fp32 "
                                  "--set compress.error_feedback=false "
                                  "--set strategy.weighting=uniform --set data.client_holdout=0");
  EXPECT_EQ(secure.exit_code, 2) << secure.output;
  EXPECT_NE(secure.output.find("secure aggregation does not run over several ranks yet"),
            std::string::npos)
      << secure.output;
}
#else
TEST_F(DistributedSimulationTest, ABuildWithoutMpiRefusesToRunUnderMpirun) {
  CommandResult run = Simulate("OMPI_COMM_WORLD_SIZE=2", "out", "");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("this build has no MPI"), std::string::npos) << run.output;
}
#endif

}  // namespace
}  // namespace tributary
