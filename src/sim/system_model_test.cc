#include "sim/system_model.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace tributary {
namespace {

TEST(SystemModelTest, ProfilesDrawWithinTheirRangesAndFromTheSeed) {
  auto edge = *SystemModel::Create({.profile = "edge"}, 500, 1);
  auto again = *SystemModel::Create({.profile = "edge"}, 500, 1);
  double lowest = 1e30, highest = 0;
  for (uint32_t c = 0; c < 500; ++c) {
    const ClientSystem& s = edge.client(c);
    EXPECT_GE(s.downlink_bps, 8e6);
    EXPECT_LE(s.downlink_bps, 1e9);
    EXPECT_DOUBLE_EQ(s.uplink_bps, s.downlink_bps / 4);
    EXPECT_EQ(s.downlink_bps, again.client(c).downlink_bps);
    lowest = std::min(lowest, s.downlink_bps);
    highest = std::max(highest, s.downlink_bps);
  }
  EXPECT_LT(lowest, 2e7) << "log-uniform: the slow end is well populated";
  EXPECT_GT(highest, 5e8);
  auto dc = *SystemModel::Create({.profile = "datacenter"}, 50, 1);
  for (uint32_t c = 0; c < 50; ++c) EXPECT_GE(dc.client(c).uplink_bps, 1e9);
}

TEST(SystemModelTest, RoundTripAddsLatencyTransfersAndCompute) {
  auto uniform = *SystemModel::Create({.seconds_per_example = 0.002}, 3, 1);
  // 2 x 10 ms + 1 MB down and 0.5 MB up at 100 Mbit/s + 1000 examples x 2 ms.
  EXPECT_NEAR(uniform.RoundTrip(0, 1000000, 1000, 500000), 0.02 + 0.08 + 2.0 + 0.04, 1e-12);
  // Transfers overlapping the training (Streaming DiLoCo): the longer of the two.
  auto overlapped =
      *SystemModel::Create({.seconds_per_example = 0.002, .overlap_transfers = true}, 3, 1);
  EXPECT_NEAR(overlapped.RoundTrip(0, 1000000, 1000, 500000), 2.0, 1e-12);
  EXPECT_NEAR(overlapped.RoundTrip(0, 1000000, 10, 500000), 0.02 + 0.08 + 0.04, 1e-12);
}

TEST(SystemModelTest, AvailabilityFollowsItsProbabilities) {
  auto model = *SystemModel::Create({.dropout = 0.2, .crash_upload = 0.1}, 1, 1);
  int dropped = 0, crashed = 0;
  for (int round = 1; round <= 10000; ++round) {
    const Availability a = model.Draw(0, round, 7);
    dropped += a == Availability::kDropsOut;
    crashed += a == Availability::kCrashesMidUpload;
  }
  EXPECT_NEAR(dropped, 2000, 200);
  EXPECT_NEAR(crashed, 1000, 150);
}

TEST(SystemModelTest, ReadsTracesAndRejectsBadOnes) {
  const std::string path = ::testing::TempDir() + "/trace.csv";
  std::ofstream(path) << "client,downlink_mbps,uplink_mbps,latency_ms,speed\n"
                         "0,100,10,20,1\n1,50,5,40,0.5\n";
  auto model = SystemModel::Create({.profile = "trace", .trace_path = path}, 2, 1);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_DOUBLE_EQ(model->client(1).uplink_bps, 5e6);
  EXPECT_DOUBLE_EQ(model->client(1).latency_seconds, 0.04);
  EXPECT_FALSE(SystemModel::Create({.profile = "trace", .trace_path = path}, 3, 1).ok());
  for (const char* bad : {"h\n0,100,10,20\n", "h\n1,100,10,20,1\n", "h\n0,-1,10,20,1\n",
                          "h\n0,100,10,20,1,9\n", "h\n0,x,10,20,1\n"}) {
    std::ofstream(path) << bad;
    EXPECT_FALSE(SystemModel::Create({.profile = "trace", .trace_path = path}, 1, 1).ok()) << bad;
  }
  EXPECT_FALSE(SystemModel::Create({.profile = "trace", .trace_path = "/nonexistent"}, 1, 1).ok());
  EXPECT_FALSE(SystemModel::Create({.profile = "satellite"}, 1, 1).ok());
  EXPECT_FALSE(SystemModel::Create({.dropout = 0.6, .crash_upload = 0.5}, 1, 1).ok());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tributary
