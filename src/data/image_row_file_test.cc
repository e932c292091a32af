#include "data/image_row_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace tributary {
namespace {

// A file of a 5-byte header then 6 images of 4 bytes: image r's bytes are 10r, 10r+1, ...
class ImageRowFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("tributary_image_rows_" + std::to_string(getpid())))
                .string();
    std::ofstream out(path_, std::ios::binary);
    out.write("HEAD!", 5);
    for (int r = 0; r < 6; ++r) {
      for (int b = 0; b < 4; ++b) out.put(static_cast<char>(10 * r + b));
    }
  }
  void TearDown() override { std::filesystem::remove(path_); }

  std::string path_;
};

std::vector<uint8_t> Image(int row) {
  return {static_cast<uint8_t>(10 * row), static_cast<uint8_t>(10 * row + 1),
          static_cast<uint8_t>(10 * row + 2), static_cast<uint8_t>(10 * row + 3)};
}

TEST_F(ImageRowFileTest, ReadsTheChosenImagesInTheirOrder) {
  absl::StatusOr<std::shared_ptr<const ImageRowFile>> file =
      ImageRowFile::Open(path_, 5, 4, 6, {5, 0, 3});
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ((*file)->size(), 3u);
  std::vector<uint8_t> image(4);
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE((*file)->Read(i, image).ok());
    EXPECT_EQ(image, Image(std::vector<int>{5, 0, 3}[i]));
  }
  EXPECT_FALSE((*file)->Read(3, image).ok());  // past the examples
  std::vector<uint8_t> short_buffer(3);
  EXPECT_FALSE((*file)->Read(0, short_buffer).ok());

  absl::StatusOr<std::shared_ptr<const ImageRowFile>> subset =
      (*file)->Subset(std::vector<uint32_t>{2, 2, 0});
  ASSERT_TRUE(subset.ok()) << subset.status();
  ASSERT_EQ((*subset)->size(), 3u);
  ASSERT_TRUE((*subset)->Read(1, image).ok());
  EXPECT_EQ(image, Image(3));
  ASSERT_TRUE((*subset)->Read(2, image).ok());
  EXPECT_EQ(image, Image(5));
  EXPECT_FALSE((*file)->Subset(std::vector<uint32_t>{3}).ok());
}

TEST_F(ImageRowFileTest, BadFilesAndRowsAreErrors) {
  EXPECT_EQ(ImageRowFile::Open(path_, 5, 4, 7, {0}).status().code(),
            absl::StatusCode::kDataLoss);  // promises more images than the file holds
  EXPECT_EQ(ImageRowFile::Open(path_, 5, 4, 6, {6}).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_FALSE(ImageRowFile::Open(path_ + ".missing", 5, 4, 6, {0}).ok());
  EXPECT_FALSE(ImageRowFile::Open(path_, 5, 0, 6, {0}).ok());
}

TEST_F(ImageRowFileTest, AFileThatShrinksUnderTheRunIsAnErrorNotAPartialImage) {
  absl::StatusOr<std::shared_ptr<const ImageRowFile>> file =
      ImageRowFile::Open(path_, 5, 4, 6, {1, 5});
  ASSERT_TRUE(file.ok()) << file.status();
  std::filesystem::resize_file(path_, 5 + 4 * 5 + 2);  // image 5 cut in half
  std::vector<uint8_t> image(4);
  EXPECT_TRUE((*file)->Read(0, image).ok());
  const absl::Status cut = (*file)->Read(1, image);
  EXPECT_EQ(cut.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(cut.message().find("ends"), std::string::npos) << cut;
}

}  // namespace
}  // namespace tributary
