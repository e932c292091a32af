// Secure aggregation deployed, 10 client processes, one killed (10%) before each of the stages
// in turn (secagg_dropout_fixture.h); the seeds are picked for where the drop falls.
#include "deploy/secagg_dropout_fixture.h"

namespace tributary {
namespace {

TEST_F(DeploySecAggDropoutTest, TenPercentKilledBeforeSharingKeys) {
  ExpectKilledClientsLeaveTheSimulatedSum(
      {.stage_dropout = 0.035, .seed = 5, .dropouts = {1, 0, 0}});
}

TEST_F(DeploySecAggDropoutTest, TenPercentKilledBeforeMasking) {
  ExpectKilledClientsLeaveTheSimulatedSum(
      {.stage_dropout = 0.035, .seed = 1, .dropouts = {0, 1, 0}});
}

TEST_F(DeploySecAggDropoutTest, TenPercentKilledBeforeUnmasking) {
  ExpectKilledClientsLeaveTheSimulatedSum(
      {.stage_dropout = 0.035, .seed = 28, .dropouts = {0, 0, 1}});
}

}  // namespace
}  // namespace tributary
