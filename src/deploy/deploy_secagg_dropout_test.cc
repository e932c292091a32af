// Secure aggregation deployed, 10 client processes, 3 killed: one before each stage after the
// first (secagg_dropout_fixture.h). The 10% cases are in deploy_secagg_dropout_slow_test.cc.
#include "deploy/secagg_dropout_fixture.h"

namespace tributary {
namespace {

TEST_F(DeploySecAggDropoutTest, ThirtyPercentKilledOneBeforeEveryStage) {
  ExpectKilledClientsLeaveTheSimulatedSum(
      {.stage_dropout = 0.12, .seed = 15, .dropouts = {1, 1, 1}});
}

}  // namespace
}  // namespace tributary
