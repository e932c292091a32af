#include "deploy/watchdog.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace tributary {
namespace {

using namespace std::chrono_literals;

bool WaitFor(const std::atomic<int>& value, int expected, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (value.load() != expected && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(1ms);
  }
  return value.load() == expected;
}

TEST(WatchdogTest, FiresOnceAtItsDeadline) {
  Watchdog watchdog;
  std::atomic<int> fired{0};
  const auto start = std::chrono::steady_clock::now();
  Watchdog::Timer timer = watchdog.Arm(0.05, [&] { fired++; });
  ASSERT_TRUE(WaitFor(fired, 1, 5000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  EXPECT_TRUE(timer.fired());
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(fired.load(), 1);
  timer.Rearm(0.01);  // a fired timer stays fired
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(fired.load(), 1);
}

TEST(WatchdogTest, ADestroyedTimerNeverFires) {
  Watchdog watchdog;
  std::atomic<int> fired{0};
  {
    Watchdog::Timer timer = watchdog.Arm(0.05, [&] { fired++; });
  }
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(fired.load(), 0);
}

// The watchdog's thread waits for the earliest deadline; destroying that timer wakes it. The
// wait once read the deadline from the erased entry (a use-after-free AddressSanitizer reports;
// `make sanitize SAN=address`).
TEST(WatchdogTest, DisarmingTheTimerTheThreadWaitsOnIsSafe) {
  Watchdog watchdog;
  std::atomic<int> fired{0};
  for (int i = 0; i < 20; ++i) {
    Watchdog::Timer waited_on = watchdog.Arm(30.0, [&] { fired++; });
    std::this_thread::sleep_for(2ms);  // the thread now waits until its deadline
  }
  Watchdog::Timer next = watchdog.Arm(0.01, [&] { fired++; });
  ASSERT_TRUE(WaitFor(fired, 1, 5000ms));
}

TEST(WatchdogTest, RearmingPostponesTheDeadline) {
  Watchdog watchdog;
  std::atomic<int> fired{0};
  Watchdog::Timer timer = watchdog.Arm(0.1, [&] { fired++; });
  for (int i = 0; i < 6; ++i) {  // 300 ms of activity, never 100 ms of silence
    std::this_thread::sleep_for(50ms);
    timer.Rearm(0.1);
  }
  EXPECT_EQ(fired.load(), 0);
  EXPECT_TRUE(WaitFor(fired, 1, 5000ms));
}

TEST(WatchdogTest, TimersFireInDeadlineOrder) {
  Watchdog watchdog;
  std::atomic<int> order{0};
  std::atomic<int> late_saw{-1}, early_saw{-1};
  Watchdog::Timer late = watchdog.Arm(0.2, [&] { late_saw = order++; });
  Watchdog::Timer early = watchdog.Arm(0.05, [&] { early_saw = order++; });
  ASSERT_TRUE(WaitFor(order, 2, 5000ms));
  EXPECT_EQ(early_saw.load(), 0);
  EXPECT_EQ(late_saw.load(), 1);
}

// Destroying a timer whose callback is running waits for it: what the callback touches (a call's
// context) must outlive it.
TEST(WatchdogTest, DisarmWaitsForARunningCallback) {
  Watchdog watchdog;
  std::atomic<int> started{0};
  std::atomic<bool> finished{false};
  auto timer = std::make_unique<Watchdog::Timer>(watchdog.Arm(0.0, [&] {
    started = 1;
    std::this_thread::sleep_for(100ms);
    finished = true;
  }));
  ASSERT_TRUE(WaitFor(started, 1, 5000ms));
  timer.reset();
  EXPECT_TRUE(finished.load());
}

}  // namespace
}  // namespace tributary
