#include "sim/byzantine.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tributary {
namespace {

TEST(ByzantineTest, ChoosesASeededFractionOfClients) {
  auto a = *ByzantineClients::Create({.fraction = 0.2}, 100, 1);
  auto b = *ByzantineClients::Create({.fraction = 0.2}, 100, 1);
  auto c = *ByzantineClients::Create({.fraction = 0.2}, 100, 2);
  EXPECT_EQ(a.count(), 20u);
  bool same = true, differs = false;
  for (uint32_t i = 0; i < 100; ++i) {
    same &= a.is_attacker(i) == b.is_attacker(i);
    differs |= a.is_attacker(i) != c.is_attacker(i);
  }
  EXPECT_TRUE(same);
  EXPECT_TRUE(differs);
  EXPECT_EQ(ByzantineClients::Create({}, 100, 1)->count(), 0u);
}

TEST(ByzantineTest, AttacksDoWhatTheySay) {
  const std::vector<float> honest = {1.0f, -2.0f, 3.0f, 0.5f};
  auto attack = [&](const std::string& kind, double scale) {
    std::vector<float> x = honest;
    ByzantineClients::Create({.fraction = 0.5, .kind = kind, .scale = scale}, 2, 1)->Attack(x, 9);
    return x;
  };
  EXPECT_EQ(attack("signflip", 1.0), (std::vector<float>{-1.0f, 2.0f, -3.0f, -0.5f}));
  EXPECT_EQ(attack("scale", 10.0), (std::vector<float>{10.0f, -20.0f, 30.0f, 5.0f}));
  for (float v : attack("nan", 1.0)) EXPECT_TRUE(std::isnan(v));
  std::vector<float> noise = attack("random", 1.0);
  EXPECT_NE(noise, honest);
  EXPECT_EQ(noise, attack("random", 1.0)) << "seeded";
}

TEST(ByzantineTest, BadSpecsAreErrors) {
  EXPECT_FALSE(ByzantineClients::Create({.fraction = 1.0}, 10, 1).ok());
  EXPECT_FALSE(ByzantineClients::Create({.fraction = 0.1, .kind = "flip"}, 10, 1).ok());
  EXPECT_FALSE(ByzantineClients::Create({.fraction = 0.1, .scale = -1.0}, 10, 1).ok());
}

}  // namespace
}  // namespace tributary
