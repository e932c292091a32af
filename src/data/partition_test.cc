#include "data/partition.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "common/seeded_rng.h"

namespace tributary {
namespace {

constexpr int kClasses = 10;

// 6000 labels, 600 per class, in a shuffled order.
std::vector<uint8_t> BalancedLabels() {
  std::vector<uint8_t> labels(6000);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = i % kClasses;
  Rng rng(1);
  Shuffle(labels.data(), labels.size(), rng);
  return labels;
}

void ExpectEveryExampleOnce(const std::vector<ClientIndices>& clients, size_t n) {
  std::vector<int> seen(n, 0);
  for (const ClientIndices& c : clients)
    for (uint32_t i : c) {
      ASSERT_LT(i, n);
      seen[i]++;
    }
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(seen[i], 1) << "example " << i;
}

// Total variation distance between a client's label distribution and the uniform one.
double DistanceFromUniform(const std::vector<int64_t>& histogram) {
  int64_t total = 0;
  for (int64_t h : histogram) total += h;
  double tv = 0.0;
  for (int64_t h : histogram) tv += std::abs(static_cast<double>(h) / total - 1.0 / kClasses);
  return tv / 2.0;
}

double MeanDistanceFromUniform(const std::vector<uint8_t>& labels,
                               const std::vector<ClientIndices>& clients) {
  double sum = 0.0;
  for (const ClientIndices& c : clients)
    sum += DistanceFromUniform(LabelHistogram(labels, kClasses, c));
  return sum / clients.size();
}

TEST(PartitionTest, IidIsBalancedAndComplete) {
  auto labels = BalancedLabels();
  PartitionOptions options{.scheme = PartitionScheme::kIid, .num_clients = 7};
  auto clients = *PartitionExamples(labels, kClasses, options, 42);
  ASSERT_EQ(clients.size(), 7u);
  ExpectEveryExampleOnce(clients, labels.size());
  for (const ClientIndices& c : clients) EXPECT_NEAR(c.size(), 6000 / 7.0, 1.0);
}

TEST(PartitionTest, SameSeedSamePartitionOtherSeedDifferent) {
  auto labels = BalancedLabels();
  PartitionOptions options{.scheme = PartitionScheme::kDirichlet, .num_clients = 20, .alpha = 0.5};
  EXPECT_EQ(*PartitionExamples(labels, kClasses, options, 1),
            *PartitionExamples(labels, kClasses, options, 1));
  EXPECT_NE(*PartitionExamples(labels, kClasses, options, 1),
            *PartitionExamples(labels, kClasses, options, 2));
}

TEST(PartitionTest, DirichletLargeAlphaIsNearIidSmallAlphaIsSkewed) {
  auto labels = BalancedLabels();
  PartitionOptions options{.scheme = PartitionScheme::kDirichlet, .num_clients = 10};
  options.alpha = 1000.0;
  auto near_iid = *PartitionExamples(labels, kClasses, options, 3);
  ExpectEveryExampleOnce(near_iid, labels.size());
  options.alpha = 0.1;
  auto skewed = *PartitionExamples(labels, kClasses, options, 3);
  ExpectEveryExampleOnce(skewed, labels.size());
  auto iid =
      *PartitionExamples(labels, kClasses, {.scheme = PartitionScheme::kIid, .num_clients = 10}, 3);

  const double d_large = MeanDistanceFromUniform(labels, near_iid);
  const double d_small = MeanDistanceFromUniform(labels, skewed);
  const double d_iid = MeanDistanceFromUniform(labels, iid);
  // With alpha = 1000 each client's label mix is within a few percent of uniform, like IID.
  EXPECT_LT(d_large, 0.05);
  EXPECT_LT(d_large, 2.0 * d_iid + 0.01);
  EXPECT_GT(d_small, 0.4);
  for (const ClientIndices& c : near_iid) EXPECT_NEAR(c.size(), 600.0, 60.0);
}

TEST(PartitionTest, ShardsGiveExactlyKClassesPerClient) {
  auto labels = BalancedLabels();
  for (int k : {1, 2, 3, 10}) {
    PartitionOptions options{
        .scheme = PartitionScheme::kShards, .num_clients = 20, .shards_per_client = k};
    auto clients = *PartitionExamples(labels, kClasses, options, 9);
    ExpectEveryExampleOnce(clients, labels.size());
    for (const ClientIndices& c : clients) {
      auto histogram = LabelHistogram(labels, kClasses, c);
      EXPECT_EQ(std::count_if(histogram.begin(), histogram.end(), [](int64_t h) { return h > 0; }),
                k);
    }
  }
}

TEST(PartitionTest, NaturalGroupsWholeOwnersInOrder) {
  // Owners 0..5 with 10, 10, 40, 10, 10, 20 examples, interleaved.
  const std::vector<int> counts = {10, 10, 40, 10, 10, 20};
  std::vector<uint8_t> owners;
  for (int round = 0; round < 40; ++round) {
    for (int o = 0; o < 6; ++o) {
      if (round < counts[o]) owners.push_back(static_cast<uint8_t>(o));
    }
  }
  auto one_each =
      PartitionExamples(owners, 6, {.scheme = PartitionScheme::kNatural, .num_clients = 6}, 1);
  ASSERT_TRUE(one_each.ok());
  for (int o = 0; o < 6; ++o) {
    ASSERT_EQ((*one_each)[o].size(), static_cast<size_t>(counts[o]));
    for (uint32_t i : (*one_each)[o]) EXPECT_EQ(owners[i], o);
  }
  auto three =
      PartitionExamples(owners, 6, {.scheme = PartitionScheme::kNatural, .num_clients = 3}, 1);
  ASSERT_TRUE(three.ok());
  // Contiguous owner groups: the first closes once it holds its share of 100 / 3 (at 60), the
  // remaining 40 split as 20 + 20.
  std::vector<std::set<int>> groups(3);
  size_t total = 0;
  for (int c = 0; c < 3; ++c) {
    for (uint32_t i : (*three)[c]) groups[c].insert(owners[i]);
    total += (*three)[c].size();
  }
  EXPECT_EQ(total, owners.size());
  EXPECT_EQ(groups[0], (std::set<int>{0, 1, 2}));
  EXPECT_EQ(groups[1], (std::set<int>{3, 4}));
  EXPECT_EQ(groups[2], (std::set<int>{5}));
  // Never more clients than owners.
  EXPECT_FALSE(
      PartitionExamples(owners, 6, {.scheme = PartitionScheme::kNatural, .num_clients = 7}, 1)
          .ok());
}

TEST(PartitionTest, RejectsImpossibleRequests) {
  auto labels = BalancedLabels();
  EXPECT_FALSE(PartitionExamples(labels, kClasses, {.num_clients = 0}, 1).ok());
  EXPECT_FALSE(PartitionExamples(labels, kClasses, {.num_clients = 6001}, 1).ok());
  EXPECT_FALSE(
      PartitionExamples(labels, kClasses,
                        {.scheme = PartitionScheme::kDirichlet, .num_clients = 5, .alpha = 0.0}, 1)
          .ok());
  EXPECT_FALSE(PartitionExamples(
                   labels, kClasses,
                   {.scheme = PartitionScheme::kShards, .num_clients = 5, .shards_per_client = 11},
                   1)
                   .ok());
  // Two clients holding one class each cannot cover ten classes.
  EXPECT_FALSE(PartitionExamples(
                   labels, kClasses,
                   {.scheme = PartitionScheme::kShards, .num_clients = 2, .shards_per_client = 1},
                   1)
                   .ok());
  std::vector<uint8_t> bad_labels = {0, 1, 12};
  EXPECT_FALSE(PartitionExamples(bad_labels, kClasses, {.num_clients = 1}, 1).ok());
  EXPECT_FALSE(ParsePartitionScheme("random").ok());
}

}  // namespace
}  // namespace tributary
