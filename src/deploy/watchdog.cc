#include "deploy/watchdog.h"

#include <algorithm>
#include <utility>

namespace tributary {
namespace {

Watchdog::Clock::time_point After(double seconds) {
  // Clamped so that an absurd limit cannot overflow the clock.
  const double clamped = std::clamp(seconds, 0.0, 1e9);
  return Watchdog::Clock::now() + std::chrono::duration_cast<Watchdog::Clock::duration>(
                                      std::chrono::duration<double>(clamped));
}

}  // namespace

Watchdog::Watchdog() : thread_([this] { Loop(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

Watchdog::Timer Watchdog::Arm(double seconds, std::function<void()> fire) {
  std::lock_guard lock(mu_);
  const uint64_t id = next_id_++;
  entries_[id] = Entry{.deadline = After(seconds), .fire = std::move(fire)};
  changed_.notify_all();
  return Timer(this, id);
}

void Watchdog::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // The earliest pending deadline; a linear scan, as only the calls in progress are armed.
    auto next = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (!it->second.fired &&
          (next == entries_.end() || it->second.deadline < next->second.deadline)) {
        next = it;
      }
    }
    if (next == entries_.end()) {
      changed_.wait(lock);
      continue;
    }
    // A copy: the wait reads the deadline again after waking, when Disarm() may have erased
    // the entry (AddressSanitizer caught the read of the freed node).
    const Clock::time_point deadline = next->second.deadline;
    if (Clock::now() < deadline) {
      changed_.wait_until(lock, deadline);
      continue;
    }
    next->second.fired = true;
    firing_ = next->first;
    std::function<void()> fire = next->second.fire;
    lock.unlock();
    fire();
    lock.lock();
    firing_ = 0;
    changed_.notify_all();
  }
}

void Watchdog::Disarm(uint64_t id) {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return firing_ != id; });
  entries_.erase(id);
  changed_.notify_all();
}

void Watchdog::Rearm(uint64_t id, double seconds) {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return firing_ != id; });
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.fired) return;
  it->second.deadline = After(seconds);
  changed_.notify_all();
}

bool Watchdog::Fired(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  return it != entries_.end() && it->second.fired;
}

Watchdog::Timer::Timer(Timer&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), id_(other.id_) {}

Watchdog::Timer& Watchdog::Timer::operator=(Timer&& other) noexcept {
  if (this != &other) {
    if (owner_ != nullptr) owner_->Disarm(id_);
    owner_ = std::exchange(other.owner_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

Watchdog::Timer::~Timer() {
  if (owner_ != nullptr) owner_->Disarm(id_);
}

void Watchdog::Timer::Rearm(double seconds) {
  if (owner_ != nullptr) owner_->Rearm(id_, seconds);
}

bool Watchdog::Timer::fired() const { return owner_ != nullptr && owner_->Fired(id_); }

}  // namespace tributary
