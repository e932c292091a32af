// Network construction: a seeded initialization is the same while other threads build models
// (they all draw from torch's one global generator).
#include "model/network.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace tributary {
namespace {

ModelSpec SmallMlp() {
  ModelSpec spec;
  spec.name = "mlp";
  spec.hidden = 64;
  return spec;
}

TEST(NetworkTest, SeededInitializationIsReproducibleWhileOtherThreadsBuildModels) {
  const ModelState reference = *InitialModelState(SmallMlp(), 5);
  std::atomic<bool> done = false;
  std::vector<std::thread> builders;
  for (int t = 0; t < 3; ++t) {
    builders.emplace_back([&] {
      while (!done) ASSERT_TRUE(Network::Create(SmallMlp()).ok());
    });
  }
  int mismatches = 0;
  for (int i = 0; i < 200; ++i) {
    if (InitialModelState(SmallMlp(), 5)->Checksum() != reference.Checksum()) ++mismatches;
  }
  done = true;
  for (std::thread& builder : builders) builder.join();
  EXPECT_EQ(mismatches, 0);
}

}  // namespace
}  // namespace tributary
