#include "report/metrics_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tributary {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class MetricsWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("tributary_metrics_" + std::to_string(getpid()) + ".jsonl"))
                .string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::string path_;
};

TEST_F(MetricsWriterTest, ResumeDropsLaterRoundsAndAHalfWrittenLastLine) {
  const std::string round1 = RoundMetricsToJson(RoundMetrics{.round = 1}) + "\n";
  const std::string round2 = RoundMetricsToJson(RoundMetrics{.round = 2}) + "\n";
  const std::string round3 = RoundMetricsToJson(RoundMetrics{.round = 3}) + "\n";
  // Interrupted while writing round 3: its line has no end.
  std::ofstream(path_) << round1 << round2 << round3.substr(0, 17);
  {
    absl::StatusOr<std::unique_ptr<MetricsWriter>> writer = MetricsWriter::Open(path_, 2);
    ASSERT_TRUE(writer.ok()) << writer.status();
    EXPECT_EQ(Slurp(path_), round1 + round2);
    ASSERT_TRUE((*writer)->Write(RoundMetrics{.round = 3}).ok());
  }
  EXPECT_EQ(Slurp(path_), round1 + round2 + round3);
  // Complete lines after the checkpoint's round are dropped as before.
  ASSERT_TRUE(MetricsWriter::Open(path_, 1).ok());
  EXPECT_EQ(Slurp(path_), round1);
}

TEST_F(MetricsWriterTest, ResumeRefusesACorruptLineInTheMiddle) {
  const std::string round2 = RoundMetricsToJson(RoundMetrics{.round = 2}) + "\n";
  std::ofstream(path_) << "not json\n" << round2;
  EXPECT_FALSE(MetricsWriter::Open(path_, 2).ok());
}

}  // namespace
}  // namespace tributary
