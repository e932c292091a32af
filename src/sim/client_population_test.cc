#include "sim/client_population.h"

#include <gtest/gtest.h>

#include <set>

namespace tributary {
namespace {

TEST(ClientPopulationTest, SamplesDistinctClientsDeterministically) {
  ClientPopulation population(std::vector<ClientIndices>(100, ClientIndices{1, 2}));
  auto a = *population.Sample(10, 5, 1);
  EXPECT_EQ(a.size(), 10u);
  EXPECT_EQ(std::set<uint32_t>(a.begin(), a.end()).size(), 10u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(a, *population.Sample(10, 5, 1));
  EXPECT_NE(a, *population.Sample(10, 5, 2));
  EXPECT_NE(a, *population.Sample(10, 6, 1));
}

TEST(ClientPopulationTest, SamplingIsRoughlyUniform) {
  ClientPopulation population(std::vector<ClientIndices>(20, ClientIndices{0}));
  std::vector<int> hits(20, 0);
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint32_t> sample = *population.Sample(5, 1, round);
    for (uint32_t c : sample) hits[c]++;
  }
  for (int h : hits) EXPECT_NEAR(h, 500, 80);
}

TEST(ClientPopulationTest, RejectsImpossibleSampleSizes) {
  ClientPopulation population(std::vector<ClientIndices>(3, ClientIndices{0}));
  EXPECT_FALSE(population.Sample(4, 1, 1).ok());
  EXPECT_FALSE(population.Sample(0, 1, 1).ok());
  EXPECT_TRUE(population.Sample(3, 1, 1).ok());
}

}  // namespace
}  // namespace tributary
