#include "deploy/token_bucket.h"

#include <algorithm>
#include <thread>

namespace tributary {

TokenBucket::TokenBucket(double megabits_per_second) : last_(std::chrono::steady_clock::now()) {
  if (megabits_per_second > 0.0) {
    bytes_per_second_ = megabits_per_second * 1e6 / 8.0;
    burst_ = std::max(4096.0, bytes_per_second_ * 0.01);
    tokens_ = burst_;
  }
}

void TokenBucket::Refill() {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  tokens_ = std::min(burst_, tokens_ + elapsed * bytes_per_second_);
}

void TokenBucket::Consume(int64_t bytes) {
  if (bytes_per_second_ <= 0.0) return;
  Refill();
  // Tokens go negative by what this transfer borrows; sleeping repays the debt at the rate.
  tokens_ -= static_cast<double>(bytes);
  if (tokens_ < 0.0) {
    std::this_thread::sleep_for(std::chrono::duration<double>(-tokens_ / bytes_per_second_));
  }
}

size_t TokenBucket::ChunkBytes(size_t max_bytes) const {
  if (bytes_per_second_ <= 0.0) return max_bytes;
  const double ten_ms = bytes_per_second_ * 0.01;
  return std::min(max_bytes, static_cast<size_t>(std::max(1024.0, ten_ms)));
}

}  // namespace tributary
