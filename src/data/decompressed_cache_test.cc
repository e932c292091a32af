#include "data/decompressed_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "data/fashion_mnist.h"

namespace tributary {
namespace {

std::vector<char> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

// A temporary folder with a gzip file of `bytes` pseudo-random bytes, and the cache folder set
// to a folder of its own for the test.
class DecompressedCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("tributary_cache_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(root_);
    cache_ = (root_ / "cache").string();
    setenv("TRIBUTARY_CACHE_DIR", cache_.c_str(), 1);
  }
  void TearDown() override {
    unsetenv("TRIBUTARY_CACHE_DIR");
    std::filesystem::remove_all(root_);
  }
  std::string WriteGzip(const std::string& name, size_t bytes) {
    original_.resize(bytes);
    std::mt19937 rng(7);
    for (char& c : original_) c = static_cast<char>(rng() % 16);  // compressible, like images
    const std::string path = (root_ / name).string();
    gzFile out = gzopen(path.c_str(), "wb");
    gzwrite(out, original_.data(), static_cast<unsigned>(original_.size()));
    gzclose(out);
    return path;
  }

  std::filesystem::path root_;
  std::string cache_;
  std::vector<char> original_;
};

TEST_F(DecompressedCacheTest, MakesAVerifiedCopyOnceAndReusesIt) {
  const std::string gz = WriteGzip("data.bin.gz", 3 << 20);
  absl::StatusOr<std::string> copy = DecompressedCopy(gz);
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(std::filesystem::path(*copy).parent_path(), cache_);
  EXPECT_EQ(ReadAll(*copy), original_);
  const auto written = std::filesystem::last_write_time(*copy);
  absl::StatusOr<std::string> again = DecompressedCopy(gz);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *copy);
  EXPECT_EQ(std::filesystem::last_write_time(*again), written);                  // not made again
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(cache_), {}), 1);  // no leftovers
}

TEST_F(DecompressedCacheTest, ADamagedOrTruncatedCopyIsMadeAgain) {
  const std::string gz = WriteGzip("data.bin.gz", 2 << 20);
  absl::StatusOr<std::string> copy = DecompressedCopy(gz);
  ASSERT_TRUE(copy.ok()) << copy.status();
  {
    std::fstream damage(*copy, std::ios::binary | std::ios::in | std::ios::out);
    damage.seekp(12345);
    damage.put(static_cast<char>(200));  // the original bytes are all below 16
  }
  ASSERT_NE(ReadAll(*copy), original_);
  ASSERT_TRUE(DecompressedCopy(gz).ok());
  EXPECT_EQ(ReadAll(*copy), original_);
  std::filesystem::resize_file(*copy, 1000);
  ASSERT_TRUE(DecompressedCopy(gz).ok());
  EXPECT_EQ(ReadAll(*copy), original_);
}

TEST_F(DecompressedCacheTest, SmallFilesNoCacheFolderAndBadGzipAreLeftToTheCaller) {
  EXPECT_FALSE(DecompressedCopy(WriteGzip("small.gz", 1000)).ok());
  const std::string gz = WriteGzip("data.bin.gz", 2 << 20);
  setenv("TRIBUTARY_CACHE_DIR", "off", 1);
  EXPECT_EQ(DecompressedCacheDir(), "");
  EXPECT_FALSE(DecompressedCopy(gz).ok());
  setenv("TRIBUTARY_CACHE_DIR", "/proc/no-such-folder", 1);
  EXPECT_FALSE(DecompressedCopy(gz).ok());
  setenv("TRIBUTARY_CACHE_DIR", cache_.c_str(), 1);
  // A file whose gzip stream is damaged: inflating it fails, and nothing is left in the cache.
  std::vector<char> bytes = ReadAll(gz);
  bytes[bytes.size() / 2] ^= 0x55;
  const std::string bad = (root_ / "bad.gz").string();
  std::ofstream(bad, std::ios::binary).write(bytes.data(), bytes.size());
  EXPECT_FALSE(DecompressedCopy(bad).ok());
  EXPECT_FALSE(std::filesystem::exists(cache_) &&
               std::distance(std::filesystem::directory_iterator(cache_), {}) > 0);
}

TEST_F(DecompressedCacheTest, FashionMnistReadsTheSameThroughTheCache) {
  setenv("TRIBUTARY_CACHE_DIR", "off", 1);
  absl::StatusOr<LabeledImages> direct =
      LoadFashionMnist(kDefaultFashionMnistDir, DatasetSplit::kTest);
  ASSERT_TRUE(direct.ok()) << direct.status();
  setenv("TRIBUTARY_CACHE_DIR", cache_.c_str(), 1);
  for (int pass = 0; pass < 2; ++pass) {  // making the copy, then reading it
    absl::StatusOr<LabeledImages> cached =
        LoadFashionMnist(kDefaultFashionMnistDir, DatasetSplit::kTest);
    ASSERT_TRUE(cached.ok()) << cached.status();
    EXPECT_EQ(cached->pixels, direct->pixels);
    EXPECT_EQ(cached->labels, direct->labels);
  }
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(cache_), {}), 1);  // the images
}

}  // namespace
}  // namespace tributary
