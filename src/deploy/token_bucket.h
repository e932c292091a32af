// A token bucket that paces a byte stream to a rate, for emulating a client's link on one
// machine (`--uplink-mbps`, `--downlink-mbps`). Burst: 10 ms of traffic, at least 4 KiB.
//
// Thread-safety: not thread-safe; one bucket per direction of one client.
#ifndef TRIBUTARY_DEPLOY_TOKEN_BUCKET_H_
#define TRIBUTARY_DEPLOY_TOKEN_BUCKET_H_

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace tributary {

class TokenBucket {
 public:
  // `megabits_per_second` <= 0: unlimited.
  explicit TokenBucket(double megabits_per_second);

  // Blocks until `bytes` may pass at the configured rate (at once when unlimited): over any
  // stretch of calls, bytes / elapsed stays at most the rate plus one burst.
  void Consume(int64_t bytes);

  // The size to split a transfer into so that the pacing is smooth: about 10 ms of traffic,
  // between 1 KiB and `max_bytes` (max_bytes when unlimited).
  size_t ChunkBytes(size_t max_bytes) const;

 private:
  void Refill();
  double bytes_per_second_ = 0.0;
  double burst_ = 0.0;
  double tokens_ = 0.0;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_TOKEN_BUCKET_H_
