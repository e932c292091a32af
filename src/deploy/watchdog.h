// Watchdog: one thread that runs a callback when a deadline passes, for limits the synchronous
// gRPC API cannot express (a stream that stays silent blocks its handler in Read or Write; the
// callback cancels the call, which wakes it).
//
// Thread-safety: every method may be called from any thread. A Timer's destructor (and Rearm)
// waits while its callback is running, so a callback never outlives what it refers to.
#ifndef TRIBUTARY_DEPLOY_WATCHDOG_H_
#define TRIBUTARY_DEPLOY_WATCHDOG_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace tributary {

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;

  Watchdog();
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Runs `fire` once, `seconds` from now, unless the Timer is destroyed, or re-armed, first.
  class Timer {
   public:
    Timer() = default;
    Timer(Timer&& other) noexcept;
    Timer& operator=(Timer&& other) noexcept;
    ~Timer();
    // Moves the deadline to `seconds` from now; a timer that already fired does not fire again.
    void Rearm(double seconds);
    bool fired() const;

   private:
    friend class Watchdog;
    Timer(Watchdog* owner, uint64_t id) : owner_(owner), id_(id) {}
    Watchdog* owner_ = nullptr;
    uint64_t id_ = 0;
  };
  Timer Arm(double seconds, std::function<void()> fire);

 private:
  struct Entry {
    Clock::time_point deadline;
    std::function<void()> fire;
    bool fired = false;
  };
  void Loop();
  void Disarm(uint64_t id);
  void Rearm(uint64_t id, double seconds);
  bool Fired(uint64_t id);

  std::mutex mu_;
  std::condition_variable changed_;
  std::map<uint64_t, Entry> entries_;
  uint64_t next_id_ = 1;
  uint64_t firing_ = 0;  // the id whose callback runs now; 0: none
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_WATCHDOG_H_
