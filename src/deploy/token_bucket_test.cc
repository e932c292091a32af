#include "deploy/token_bucket.h"

#include <gtest/gtest.h>

#include <chrono>

namespace tributary {
namespace {

TEST(TokenBucketTest, PacesToTheRate) {
  TokenBucket bucket(8.0);  // 1 MB/s
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) bucket.Consume(10000);  // 200 kB: ~0.2 s
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(seconds, 0.17);  // the burst (10 kB) may pass at once
  EXPECT_LT(seconds, 1.0);
}

TEST(TokenBucketTest, UnlimitedNeverWaits) {
  TokenBucket bucket(0.0);
  const auto start = std::chrono::steady_clock::now();
  bucket.Consume(int64_t{1} << 40);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.1);
  EXPECT_EQ(bucket.ChunkBytes(1 << 20), size_t{1} << 20);
}

TEST(TokenBucketTest, ChunksAreAboutTenMilliseconds) {
  EXPECT_EQ(TokenBucket(80.0).ChunkBytes(1 << 20), 100000u);  // 10 MB/s
  EXPECT_EQ(TokenBucket(0.01).ChunkBytes(1 << 20), 1024u);    // floor
  EXPECT_EQ(TokenBucket(1e6).ChunkBytes(1 << 20), size_t{1} << 20);
}

}  // namespace
}  // namespace tributary
