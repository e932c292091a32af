#include "data/fashion_mnist.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace tributary {
namespace {

std::vector<uint8_t> IdxHeader(std::vector<uint32_t> dims) {
  std::vector<uint8_t> bytes = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back((d >> shift) & 0xff);
  }
  return bytes;
}

TEST(IdxTest, ParsesWellFormedData) {
  std::vector<uint8_t> bytes = IdxHeader({2, 2, 3});
  for (int i = 0; i < 12; ++i) bytes.push_back(i);
  std::vector<int64_t> dims;
  auto payload = ParseIdx(bytes, 3, &dims);
  ASSERT_TRUE(payload.ok()) << payload.status();
  EXPECT_EQ(dims, (std::vector<int64_t>{2, 2, 3}));
  EXPECT_EQ(payload->size(), 12u);
  EXPECT_EQ((*payload)[11], 11);
}

TEST(IdxTest, RejectsMalformedData) {
  std::vector<int64_t> dims;
  std::vector<uint8_t> good = IdxHeader({4});
  good.insert(good.end(), {1, 2, 3, 4});
  EXPECT_TRUE(ParseIdx(good, 1, &dims).ok());

  std::vector<uint8_t> truncated(good.begin(), good.end() - 1);
  EXPECT_FALSE(ParseIdx(truncated, 1, &dims).ok());
  std::vector<uint8_t> extra = good;
  extra.push_back(9);
  EXPECT_FALSE(ParseIdx(extra, 1, &dims).ok());
  std::vector<uint8_t> bad_magic = good;
  bad_magic[2] = 0x0d;  // float type
  EXPECT_FALSE(ParseIdx(bad_magic, 1, &dims).ok());
  EXPECT_FALSE(ParseIdx(good, 3, &dims).ok());  // wrong rank
  EXPECT_FALSE(ParseIdx(std::vector<uint8_t>{0, 0}, 1, &dims).ok());
  std::vector<uint8_t> huge = IdxHeader({0xffffffffu, 0xffffffffu, 0xffffffffu});
  EXPECT_FALSE(ParseIdx(huge, 3, &dims).ok());
}

TEST(FashionMnistTest, MissingDirectoryNamesTheSetupCommand) {
  auto data = LoadFashionMnist("/nonexistent/fashion", DatasetSplit::kTest);
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().message().find("setup.sh"), std::string::npos) << data.status();
}

TEST(FashionMnistTest, CorruptFilesAreClearErrors) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("corrupt_fmnist_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  for (const char* name : {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
    std::FILE* f = std::fopen((dir / name).c_str(), "wb");
    std::fputs("definitely not gzip", f);
    std::fclose(f);
  }
  auto data = LoadFashionMnist(dir.string(), DatasetSplit::kTest);
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().message().find("t10k-labels-idx1-ubyte.gz"), std::string::npos)
      << data.status();
  std::filesystem::remove_all(dir);
}

// Writes `bytes` gzip-compressed to `path`.
void WriteGzip(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(f);
}

TEST(FashionMnistTest, TruncatedOrOverlongImageFilesAreClearErrors) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("short_fmnist_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::vector<uint8_t> labels = IdxHeader({3});
  labels.insert(labels.end(), {1, 2, 3});
  WriteGzip(dir / "t10k-labels-idx1-ubyte.gz", labels);
  std::vector<uint8_t> images = IdxHeader({3, 2, 2});
  images.insert(images.end(), 11, 7);  // one byte short of 3 images of 2x2
  WriteGzip(dir / "t10k-images-idx3-ubyte.gz", images);
  auto data = LoadFashionMnist(dir.string(), DatasetSplit::kTest);
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().message().find("t10k-images-idx3-ubyte.gz"), std::string::npos);
  EXPECT_NE(data.status().message().find("ends early"), std::string::npos) << data.status();

  images.insert(images.end(), 2, 7);  // now one byte too many
  WriteGzip(dir / "t10k-images-idx3-ubyte.gz", images);
  data = LoadFashionMnist(dir.string(), DatasetSplit::kTest);
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().message().find("more bytes than its header"), std::string::npos)
      << data.status();

  images.pop_back();  // exact: streaming visits each image once, in order
  WriteGzip(dir / "t10k-images-idx3-ubyte.gz", images);
  std::vector<size_t> visited;
  int opened = 0;
  auto shape = ForEachFashionMnistImage(
      dir.string(), DatasetSplit::kTest, 2,
      [&](const ImageShape& header) {
        ++opened;
        EXPECT_EQ(header.count, 3u);
        EXPECT_TRUE(visited.empty());  // before the first image
        // Under 1 MiB: inflated from the gzip file itself, no decompressed copy to read later.
        EXPECT_TRUE(header.uncompressed_path.empty());
      },
      [&](size_t i, std::span<const uint8_t> pixels) {
        EXPECT_EQ(pixels.size(), 4u);
        visited.push_back(i);
      });
  ASSERT_TRUE(shape.ok()) << shape.status();
  EXPECT_EQ(opened, 1);
  EXPECT_EQ(shape->count, 3u);
  EXPECT_EQ(visited, (std::vector<size_t>{0, 1}));
  std::filesystem::remove_all(dir);
}

TEST(FashionMnistTest, LoadsTheInstalledDataset) {
  auto test = LoadFashionMnist(kDefaultFashionMnistDir, DatasetSplit::kTest);
  ASSERT_TRUE(test.ok()) << test.status();
  EXPECT_EQ(test->size(), 10000u);
  EXPECT_EQ(test->rows, 28);
  EXPECT_EQ(test->cols, 28);
  std::vector<int> counts(10, 0);
  for (uint8_t label : test->labels) counts[label]++;
  for (int c : counts) EXPECT_EQ(c, 1000);  // the test split is balanced
}

}  // namespace
}  // namespace tributary
