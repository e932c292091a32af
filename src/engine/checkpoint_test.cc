#include "engine/checkpoint.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/file_util.h"

namespace tributary {
namespace {

std::vector<TensorSpec> Layout() { return {{"w", {2, 3}}, {"b", {3}}}; }

Checkpoint Sample() {
  Checkpoint c;
  c.round = 2;
  c.config_fingerprint = 0x1234;
  c.bytes_up_total = 1000;
  c.bytes_down_total = 2000;
  c.global = *ModelState::Zeros(Layout());
  c.public_model = c.global;
  for (size_t i = 0; i < c.global.num_elements(); ++i) {
    c.global.flat()[i] = 0.5f * i;
    c.public_model.flat()[i] = -1.0f * i;
  }
  c.public_version = 3;
  c.examples_trained_total = 4096;
  c.strategy_state = {{1.f, 2.f}, {}};
  return c;
}

class CheckpointTest : public ::testing::Test {
 protected:
  std::string path_ = (std::filesystem::temp_directory_path() /
                       ("tributary_ckpt_" + std::to_string(getpid()) + ".bin"))
                          .string();
  void TearDown() override { std::filesystem::remove(path_); }
};

TEST_F(CheckpointTest, RoundTrips) {
  const Checkpoint written = Sample();
  ASSERT_TRUE(WriteCheckpoint(path_, written).ok());
  absl::StatusOr<Checkpoint> read = ReadCheckpoint(path_, Layout());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->round, 2);
  EXPECT_EQ(read->config_fingerprint, 0x1234u);
  EXPECT_EQ(read->bytes_up_total, 1000);
  EXPECT_EQ(read->bytes_down_total, 2000);
  EXPECT_EQ(read->public_version, 3);
  EXPECT_EQ(read->examples_trained_total, 4096);
  EXPECT_EQ(read->global.Checksum(), written.global.Checksum());
  EXPECT_EQ(read->public_model.Checksum(), written.public_model.Checksum());
  EXPECT_EQ(read->strategy_state, written.strategy_state);
}

TEST_F(CheckpointTest, TruncatedOrCorruptedFilesAreRefused) {
  ASSERT_TRUE(WriteCheckpoint(path_, Sample()).ok());
  std::string bytes = *ReadFile(path_);
  ASSERT_TRUE(WriteFileAtomically(path_, bytes.substr(0, bytes.size() - 5)).ok());
  EXPECT_FALSE(ReadCheckpoint(path_, Layout()).ok());
  bytes[40] ^= 1;
  ASSERT_TRUE(WriteFileAtomically(path_, bytes).ok());
  EXPECT_EQ(ReadCheckpoint(path_, Layout()).status().code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(WriteFileAtomically(path_, "not a checkpoint at all").ok());
  EXPECT_FALSE(ReadCheckpoint(path_, Layout()).ok());
}

TEST_F(CheckpointTest, AnotherLayoutIsRefused) {
  ASSERT_TRUE(WriteCheckpoint(path_, Sample()).ok());
  EXPECT_FALSE(ReadCheckpoint(path_, {{"w", {4, 3}}}).ok());
}

}  // namespace
}  // namespace tributary
