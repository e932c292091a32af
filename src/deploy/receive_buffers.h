// The memory uploads are received into, kept from one upload to the next. A buffer above
// glibc's mmap threshold (32 MiB) comes from fresh pages every time it is allocated, and the
// kernel zeroes each page on first touch: on this project's VM that cost about 4 s per GiB, more
// than the transfer itself (deploy_bench). Kept and prepared while clients train, a large upload
// is copied into memory that is already mapped.
#ifndef TRIBUTARY_DEPLOY_RECEIVE_BUFFERS_H_
#define TRIBUTARY_DEPLOY_RECEIVE_BUFFERS_H_

#include <cstddef>
#include <mutex>
#include <vector>

#include "compress/pipeline.h"

namespace tributary {

class ReceiveBuffers {
 public:
  // Keeps at most `max_kept` idle buffers (one per upload received at the same time).
  explicit ReceiveBuffers(size_t max_kept) : max_kept_(max_kept) {}

  // An empty buffer: the kept one with the largest capacity, or a new one.
  Payload Take();
  // Keeps `buffer`'s memory for a later Take() while fewer than max_kept are idle.
  void Give(Payload buffer);
  // Makes idle buffers of at least `bytes` capacity, with every page touched, until `count` of
  // them (at most max_kept) exist. Safe alongside Take() and Give().
  void Prepare(size_t bytes, size_t count);

  size_t idle() const;

 private:
  size_t IdleWithCapacity(size_t bytes) const;  // requires mu_

  const size_t max_kept_;
  mutable std::mutex mu_;
  std::vector<Payload> idle_;
};

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_RECEIVE_BUFFERS_H_
