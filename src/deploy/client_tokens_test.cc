#include "deploy/client_tokens.h"

#include <gtest/gtest.h>

namespace tributary {
namespace {

TEST(ClientTokensTest, ChecksEachClientsToken) {
  auto tokens = ClientTokens::Parse(
      "# id token\n0 aaaaaaaaaaaaaaaaaaaa\n\n  3   bbbbbbbbbbbbbbbbbbbb  \n", 4);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->size(), 2u);
  EXPECT_TRUE(tokens->Check(0, "aaaaaaaaaaaaaaaaaaaa"));
  EXPECT_TRUE(tokens->Check(3, "bbbbbbbbbbbbbbbbbbbb"));
  EXPECT_FALSE(tokens->Check(0, "bbbbbbbbbbbbbbbbbbbb"));   // another client's token
  EXPECT_FALSE(tokens->Check(0, "aaaaaaaaaaaaaaaaaaa"));    // prefix
  EXPECT_FALSE(tokens->Check(0, "aaaaaaaaaaaaaaaaaaaaa"));  // longer
  EXPECT_FALSE(tokens->Check(1, "aaaaaaaaaaaaaaaaaaaa"));   // no token for client 1
  EXPECT_FALSE(tokens->Check(0, ""));
}

TEST(ClientTokensTest, RejectsMalformedFiles) {
  EXPECT_FALSE(ClientTokens::Parse("0\n", 4).ok());
  EXPECT_FALSE(ClientTokens::Parse("x aaaaaaaaaaaaaaaaaaaa\n", 4).ok());
  EXPECT_FALSE(ClientTokens::Parse("0 short\n", 4).ok());
  EXPECT_FALSE(ClientTokens::Parse("4 aaaaaaaaaaaaaaaaaaaa\n", 4).ok());  // id out of range
  EXPECT_FALSE(
      ClientTokens::Parse("1 aaaaaaaaaaaaaaaaaaaa\n1 bbbbbbbbbbbbbbbbbbbb\n", 4).ok());  // twice
  EXPECT_FALSE(ClientTokens::Parse("1 aaaaaaaaaaaaaaaaaaaa extra\n", 4).ok());
}

}  // namespace
}  // namespace tributary
