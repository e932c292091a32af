// `mpirun -n 4 --oversubscribe tributary simulate` against one process (1 and 2 ranks are in the
// default suite: distributed_simulation_test.cc), with a robust rule that needs every update.
#include <gtest/gtest.h>

#include "run/distributed_simulation_fixture.h"

namespace tributary {
namespace {

#ifdef TRIBUTARY_MPIEXEC
TEST_F(DistributedSimulationTest, FourRanksGiveTheSingleProcessRunBitForBit) {
  for (const char* strategy :
       {"--set strategy.name=fedavg", "--set strategy.name=fedadam --set strategy.server_lr=0.01",
        "--set strategy.name=scaffold", "--set strategy.name=median",
        "--set strategy.name=krum --set strategy.byzantine=1"}) {
    ExpectSameResultsOnRanks(*this, strategy, {4});
  }
}
#endif

}  // namespace
}  // namespace tributary
