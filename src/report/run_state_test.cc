#include "report/run_state.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tributary {
namespace {

class RunStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        (std::filesystem::temp_directory_path() / ("tributary_state_" + std::to_string(getpid())))
            .string();
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  RunStatus Status() {
    auto state = ReadRunState(dir_);
    EXPECT_TRUE(state.ok()) << state.status();
    return state.ok() ? state->status : RunStatus::kUnknown;
  }
  std::string dir_;
};

TEST_F(RunStateTest, RunningThenFinished) {
  EXPECT_EQ(Status(), RunStatus::kUnknown);
  RunStateFile file(dir_, "simulate");
  ASSERT_TRUE(file.Start().ok());
  auto state = ReadRunState(dir_);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->status, RunStatus::kRunning);
  EXPECT_EQ(state->pid, getpid());
  EXPECT_EQ(state->command, "simulate");
  ASSERT_TRUE(file.Finish().ok());
  EXPECT_EQ(Status(), RunStatus::kFinished);
}

TEST_F(RunStateTest, AnErrorReturnLeavesFailed) {
  {
    RunStateFile file(dir_, "server");
    ASSERT_TRUE(file.Start().ok());
  }
  EXPECT_EQ(Status(), RunStatus::kFailed);
  RunStateFile file(dir_, "server");
  ASSERT_TRUE(file.Start().ok());
  ASSERT_TRUE(file.Fail("no clients").ok());
  auto state = ReadRunState(dir_);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->status, RunStatus::kFailed);
  EXPECT_EQ(state->error, "no clients");
}

TEST_F(RunStateTest, ARunningStateWhoseProcessIsGoneReadsAsFailed) {
  const pid_t child = fork();
  if (child == 0) {
    RunStateFile file(dir_, "simulate");
    (void)file.Start();
    _exit(0);  // killed outright: no destructor, the file still says running
  }
  int status = 0;
  waitpid(child, &status, 0);
  auto state = ReadRunState(dir_);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->status, RunStatus::kFailed);
  EXPECT_NE(state->error.find(std::to_string(child)), std::string::npos) << state->error;
}

TEST_F(RunStateTest, AMalformedFileIsAnError) {
  std::ofstream(dir_ + "/run_state.json") << "{\"status\": \"sleeping\"}";
  EXPECT_EQ(ReadRunState(dir_).status().code(), absl::StatusCode::kDataLoss);
  std::ofstream(dir_ + "/run_state.json") << "garbage";
  EXPECT_EQ(ReadRunState(dir_).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace tributary
