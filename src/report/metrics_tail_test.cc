#include "report/metrics_tail.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tributary {
namespace {

class MetricsTailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("tributary_tail_" + std::to_string(getpid()) + ".jsonl"))
                .string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  void Append(const std::string& text) { std::ofstream(path_, std::ios::app) << text; }
  std::string path_;
};

TEST_F(MetricsTailTest, AHalfWrittenLineWaitsForItsNewline) {
  Append("{\"round\":1}\n{\"round\":2,\"test_acc");
  MetricsTail tail(path_);
  ASSERT_TRUE(tail.Refresh().ok());
  ASSERT_EQ(tail.rows().size(), 1u);
  EXPECT_TRUE(tail.partial_line());
  Append("uracy\":0.5}\n");
  ASSERT_TRUE(tail.Refresh().ok());
  ASSERT_EQ(tail.rows().size(), 2u);
  EXPECT_FALSE(tail.partial_line());
  EXPECT_EQ(tail.rows()[1]["test_accuracy"], 0.5);
  EXPECT_EQ(tail.bad_lines(), 0);
}

TEST_F(MetricsTailTest, ReadsOnlyWhatWasAppendedAndRestartsWhenTheFileShrinks) {
  Append("{\"round\":1}\n{\"round\":2}\n");
  MetricsTail tail(path_);
  ASSERT_TRUE(tail.Refresh().ok());
  ASSERT_TRUE(tail.Refresh().ok());
  EXPECT_EQ(tail.rows().size(), 2u);
  Append("{\"round\":3}\n");
  ASSERT_TRUE(tail.Refresh().ok());
  EXPECT_EQ(tail.rows().size(), 3u);
  // Overwritten by a new run: one round so far.
  std::ofstream(path_, std::ios::trunc) << "{\"round\":1,\"x\":7}\n";
  ASSERT_TRUE(tail.Refresh().ok());
  ASSERT_EQ(tail.rows().size(), 1u);
  EXPECT_EQ(tail.rows()[0]["x"], 7);
}

TEST_F(MetricsTailTest, CountsLinesThatAreNotRounds) {
  Append("{\"round\":1}\nnot json\n[1,2]\n{\"round\":\"two\"}\n{\"round\":3}\n");
  MetricsTail tail(path_);
  ASSERT_TRUE(tail.Refresh().ok());
  EXPECT_EQ(tail.rows().size(), 2u);
  EXPECT_EQ(tail.bad_lines(), 3);
}

TEST_F(MetricsTailTest, AMissingFileIsAnError) {
  MetricsTail tail(path_ + ".absent");
  EXPECT_EQ(tail.Refresh().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tributary
