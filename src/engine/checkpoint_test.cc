#include "engine/checkpoint.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstring>
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
  void TearDown() override {
    std::filesystem::remove(path_);
    std::filesystem::remove(PreviousVersionPath(path_));
  }
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

// A power cut or a disk error can leave the newest checkpoint damaged; the one before it is kept
// until the next is durable, and resuming falls back to it.
TEST_F(CheckpointTest, ResumeFallsBackToThePreviousCheckpoint) {
  Checkpoint first = Sample();
  first.round = 1;
  ASSERT_TRUE(WriteCheckpoint(path_, first).ok());
  EXPECT_FALSE(std::filesystem::exists(PreviousVersionPath(path_)));
  ASSERT_TRUE(WriteCheckpoint(path_, Sample()).ok());
  EXPECT_EQ(ReadNewestValidCheckpoint(path_, Layout())->round, 2);

  const std::string bytes = *ReadFile(path_);
  ASSERT_TRUE(WriteFileAtomically(path_, bytes.substr(0, bytes.size() / 2)).ok());
  absl::StatusOr<Checkpoint> resumed = ReadNewestValidCheckpoint(path_, Layout());
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->round, 1);
  std::filesystem::remove(path_);  // e.g. lost between the two renames
  EXPECT_EQ(ReadNewestValidCheckpoint(path_, Layout())->round, 1);

  ASSERT_TRUE(WriteFileAtomically(PreviousVersionPath(path_), "damaged as well").ok());
  ASSERT_TRUE(WriteFileAtomically(path_, bytes.substr(0, 10)).ok());
  EXPECT_FALSE(ReadNewestValidCheckpoint(path_, Layout()).ok());
}

// A buffer length whose size in bytes wraps around 2^64 is refused, not allocated.
TEST_F(CheckpointTest, HugeBufferLengthIsRefused) {
  ASSERT_TRUE(WriteCheckpoint(path_, Sample()).ok());
  std::string bytes = *ReadFile(path_);
  // The file ends with: count 2, two floats, count 0, checksum (8 bytes each).
  const size_t count_at = bytes.size() - 32;
  uint64_t count = 0;
  std::memcpy(&count, bytes.data() + count_at, sizeof(count));
  ASSERT_EQ(count, 2u);
  count = (uint64_t{1} << 62) + 1;  // count * 4 wraps to 4
  std::memcpy(bytes.data() + count_at, &count, sizeof(count));
  const uint64_t checksum = XXH64(bytes.data(), bytes.size() - 8, 0);
  std::memcpy(bytes.data() + bytes.size() - 8, &checksum, sizeof(checksum));
  ASSERT_TRUE(WriteFileAtomically(path_, bytes).ok());
  EXPECT_EQ(ReadCheckpoint(path_, Layout()).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CheckpointTest, AnotherLayoutIsRefused) {
  ASSERT_TRUE(WriteCheckpoint(path_, Sample()).ok());
  EXPECT_FALSE(ReadCheckpoint(path_, {{"w", {4, 3}}}).ok());
}

}  // namespace
}  // namespace tributary
