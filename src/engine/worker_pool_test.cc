#include "engine/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace tributary {
namespace {

// Every task runs once, on a worker whose index it sees, and Wait() returns only after all of
// them; per-worker state needs no lock.
TEST(WorkerPoolTest, RunsEveryTaskOnceWithPerWorkerState) {
  constexpr int kWorkers = 4;
  std::vector<int> started(kWorkers, 0);
  std::vector<long> per_worker(kWorkers, 0);  // touched only by its own worker
  {
    WorkerPool pool(kWorkers, [&](int worker) { started[worker]++; });
    std::vector<std::atomic<int>> runs(1000);
    for (int round = 0; round < 3; ++round) {
      for (int t = 0; t < 1000; ++t) {
        pool.Submit([&, t](int worker) {
          runs[t]++;
          per_worker[worker] += t;
        });
      }
      pool.Wait();
      for (int t = 0; t < 1000; ++t) ASSERT_EQ(runs[t].load(), round + 1) << t;
    }
  }  // joined: what the workers wrote is visible
  long total = 0;
  for (long v : per_worker) total += v;
  EXPECT_EQ(total, 3L * 999 * 1000 / 2);
  // A worker's start hook runs once, before its first task (a worker that got none may not
  // have run it).
  for (int w = 0; w < kWorkers; ++w) {
    EXPECT_LE(started[w], 1);
    if (per_worker[w] > 0) EXPECT_EQ(started[w], 1);
  }
}

}  // namespace
}  // namespace tributary
