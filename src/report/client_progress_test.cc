#include "report/client_progress.h"

#include <gtest/gtest.h>

namespace tributary {
namespace {

TEST(ClientProgressTest, TransfersShowBytesOfTheTotalAndTheRate) {
  EXPECT_EQ(FormatClientProgress({.client = 3,
                                  .round = 12,
                                  .phase = ClientPhase::kDownload,
                                  .bytes_done = 3'200'000,
                                  .bytes_total = 7'380'000,
                                  .phase_seconds = 0.5}),
            "client 3  round 12  download  3.20 MB / 7.38 MB  6.40 MB/s  0.5 s");
  EXPECT_EQ(FormatClientProgress({.client = 0,
                                  .round = 1,
                                  .phase = ClientPhase::kUpload,
                                  .bytes_done = 0,
                                  .bytes_total = 900,
                                  .phase_seconds = 0.0}),
            "client 0  round 1  upload  0 B / 900 B  0 B/s  0.0 s");
}

TEST(ClientProgressTest, OtherPhasesShowTheirName) {
  EXPECT_EQ(FormatClientProgress({.client = 2, .round = 4, .phase = ClientPhase::kTrain}),
            "client 2  round 4  train");
  EXPECT_EQ(FormatClientProgress({.client = 2, .phase = ClientPhase::kWaiting}),
            "client 2  waiting to be selected");
  EXPECT_EQ(FormatClientProgress({.client = 2, .round = 4, .phase = ClientPhase::kWaiting}),
            "client 2  round 4 done, waiting to be selected");
}

}  // namespace
}  // namespace tributary
