#include "deploy/call_admission.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace tributary {
namespace {

TEST(CallAdmissionTest, BoundsEachClientAndTheServer) {
  CallAdmission admission(/*max_per_client=*/2, /*max_total=*/3);
  std::vector<CallAdmission::Slot> held;
  held.push_back(admission.Admit(7));
  held.push_back(admission.Admit(7));
  EXPECT_TRUE(held[0].admitted() && held[1].admitted());
  EXPECT_EQ(admission.Admit(7).refusal(), CallAdmission::Refusal::kClientBusy);
  held.push_back(admission.Admit(8));
  EXPECT_TRUE(held[2].admitted());
  EXPECT_EQ(admission.Admit(9).refusal(), CallAdmission::Refusal::kServerBusy);
  EXPECT_EQ(admission.calls_in_progress(), 3);
  held.pop_back();  // client 8's call ends: room for another
  EXPECT_EQ(admission.calls_in_progress(), 2);
  EXPECT_TRUE(admission.Admit(9).admitted());
  // A refused slot releases nothing: client 7 is still at its limit.
  EXPECT_EQ(admission.Admit(7).refusal(), CallAdmission::Refusal::kClientBusy);
  held.clear();
  EXPECT_EQ(admission.calls_in_progress(), 0);
  EXPECT_TRUE(admission.Admit(7).admitted());
}

TEST(CallAdmissionTest, AMovedSlotReleasesOnce) {
  CallAdmission admission(2, 4);
  std::optional<CallAdmission::Slot> outer;
  {
    CallAdmission::Slot slot = admission.Admit(1);
    outer.emplace(std::move(slot));
  }
  EXPECT_EQ(admission.calls_in_progress(), 1);
  outer.reset();
  EXPECT_EQ(admission.calls_in_progress(), 0);
}

}  // namespace
}  // namespace tributary
