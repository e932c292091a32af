// The SOTU corpus loader and the BPE tokenizer: round trip, caching, and validation.
#include "data/tokenizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "data/sotu.h"

namespace tributary {
namespace {

class TokenizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::vector<Speech>> speeches =
        LoadSotu(std::string(TRIBUTARY_SOURCE_DIR) + "/" + kDefaultSotuDir);
    ASSERT_TRUE(speeches.ok()) << speeches.status();
    speeches_ = std::move(*speeches);
    for (size_t i = 0; i < 20; ++i) texts_.push_back(speeches_[i].text);
  }
  void TearDown() override { std::filesystem::remove_all(cache_); }

  std::vector<Speech> speeches_;
  std::vector<std::string> texts_;
  std::string cache_ =
      (std::filesystem::temp_directory_path() / ("tributary_tokenizer_" + std::to_string(getpid())))
          .string();
};

TEST_F(TokenizerTest, CorpusIsOrderedAndComplete) {
  EXPECT_GT(speeches_.size(), 200u);
  EXPECT_EQ(speeches_.front().year, 1790);
  for (size_t i = 1; i < speeches_.size(); ++i) {
    EXPECT_LE(speeches_[i - 1].year, speeches_[i].year);
  }
  EXPECT_FALSE(IsValidationSpeech(0));
  EXPECT_TRUE(IsValidationSpeech(9));
}

TEST_F(TokenizerTest, EncodeThenDecodeGivesTheTextBack) {
  auto tokenizer = Tokenizer::TrainOrLoadCached(texts_, 400, cache_);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ((*tokenizer)->vocab_size(), 400);
  for (const std::string& text :
       {std::string("The State of the Union is strong."),
        std::string("Fellow-Citizens of the Senate and House of Representatives: 1790, 2021!"),
        // A whole-word prefix: SentencePiece drops a trailing space.
        speeches_[9].text.substr(0, speeches_[9].text.rfind(' ', 3000))}) {
    auto ids = (*tokenizer)->Encode(text);
    ASSERT_TRUE(ids.ok());
    EXPECT_LT(ids->size(), text.size()) << "BPE should merge characters";
    auto back = (*tokenizer)->Decode(*ids);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, text);
  }
}

TEST_F(TokenizerTest, SecondCallLoadsTheCachedModel) {
  auto first = Tokenizer::TrainOrLoadCached(texts_, 300, cache_);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(std::filesystem::exists((*first)->path()));
  const auto written = std::filesystem::last_write_time((*first)->path());
  auto second = Tokenizer::TrainOrLoadCached(texts_, 300, cache_);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)->path(), (*first)->path());
  EXPECT_EQ(std::filesystem::last_write_time((*second)->path()), written);
  EXPECT_EQ(*(*first)->Encode(texts_[3]), *(*second)->Encode(texts_[3]));
  // Other texts or another vocabulary size mean another model file.
  auto other = Tokenizer::TrainOrLoadCached(std::span(texts_).subspan(1), 300, cache_);
  ASSERT_TRUE(other.ok());
  EXPECT_NE((*other)->path(), (*first)->path());
}

TEST_F(TokenizerTest, BadInputIsAnError) {
  auto tokenizer = Tokenizer::TrainOrLoadCached(texts_, 300, cache_);
  ASSERT_TRUE(tokenizer.ok());
  EXPECT_FALSE((*tokenizer)->Decode(std::vector<int32_t>{5, 300}).ok());
  EXPECT_FALSE((*tokenizer)->Decode(std::vector<int32_t>{-1}).ok());
  EXPECT_FALSE(Tokenizer::TrainOrLoadCached(texts_, 10, cache_).ok());
  std::filesystem::create_directories(cache_);
  const std::string garbage = cache_ + "/garbage.model";
  FILE* f = std::fopen(garbage.c_str(), "w");
  std::fputs("not a model", f);
  std::fclose(f);
  EXPECT_FALSE(Tokenizer::Load(garbage).ok());
  EXPECT_FALSE(LoadSotu("/nonexistent").ok());
}

}  // namespace
}  // namespace tributary
