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
