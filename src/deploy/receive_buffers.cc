#include "deploy/receive_buffers.h"

#include <algorithm>

namespace tributary {

Payload ReceiveBuffers::Take() {
  std::lock_guard lock(mu_);
  if (idle_.empty()) return {};
  auto largest = std::max_element(idle_.begin(), idle_.end(), [](const auto& a, const auto& b) {
    return a.capacity() < b.capacity();
  });
  Payload buffer = std::move(*largest);
  idle_.erase(largest);
  return buffer;
}

void ReceiveBuffers::Give(Payload buffer) {
  if (buffer.capacity() == 0) return;
  buffer.clear();
  std::lock_guard lock(mu_);
  if (idle_.size() < max_kept_) idle_.push_back(std::move(buffer));
}

size_t ReceiveBuffers::IdleWithCapacity(size_t bytes) const {
  return static_cast<size_t>(std::count_if(
      idle_.begin(), idle_.end(), [bytes](const Payload& b) { return b.capacity() >= bytes; }));
}

void ReceiveBuffers::Prepare(size_t bytes, size_t count) {
  count = std::min(count, max_kept_);
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (IdleWithCapacity(bytes) >= count) return;
    }
    // Made outside the lock: touching a large buffer's pages takes seconds.
    Payload buffer(bytes);
    buffer.clear();
    std::lock_guard lock(mu_);
    if (idle_.size() >= max_kept_) {
      // Full of smaller buffers: the new one replaces the smallest.
      auto smallest = std::min_element(
          idle_.begin(), idle_.end(),
          [](const auto& a, const auto& b) { return a.capacity() < b.capacity(); });
      *smallest = std::move(buffer);
    } else {
      idle_.push_back(std::move(buffer));
    }
  }
}

size_t ReceiveBuffers::idle() const {
  std::lock_guard lock(mu_);
  return idle_.size();
}

}  // namespace tributary
