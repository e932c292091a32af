// A token bucket that paces a byte stream to a rate, for emulating a client's link on one
// machine (`--uplink-mbps`, `--downlink-mbps`). Burst: 64 KiB or 10 ms of traffic, whichever is
// larger, so chunk-sized transfers are smoothed rather than sent at once.
//
// Thread-safety: not thread-safe; one bucket per direction of one client.
#ifndef TRIBUTARY_DEPLOY_TOKEN_BUCKET_H_
#define TRIBUTARY_DEPLOY_TOKEN_BUCKET_H_

#include <chrono>
#include <cstdint>

namespace tributary {

class TokenBucket {
 public:
  // `megabits_per_second` <= 0: unlimited.
  explicit TokenBucket(double megabits_per_second);

  // Blocks until `bytes` may pass at the configured rate (at once when unlimited): over any
  // stretch of calls, bytes / elapsed stays at most the rate plus one burst.
  void Consume(int64_t bytes);

 private:
  void Refill();
  double bytes_per_second_ = 0.0;
  double burst_ = 0.0;
  double tokens_ = 0.0;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_TOKEN_BUCKET_H_
