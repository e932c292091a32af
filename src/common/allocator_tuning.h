// Keeps freed heap memory in the process instead of handing it back to the kernel after every
// tensor. Training and evaluation allocate and free the same megabytes batch after batch; with
// glibc's defaults a worker thread's arena is trimmed (madvise) whenever its free top passes
// 128 KiB, and the next batch faults the pages back in zeroed: in the Fashion-MNIST workload of
// docs/performance.md that cost millions of page faults and a quarter of the CPU as system time.
#ifndef TRIBUTARY_COMMON_ALLOCATOR_TUNING_H_
#define TRIBUTARY_COMMON_ALLOCATOR_TUNING_H_

namespace tributary {

// Call once, first thing in main: fixes malloc's trim threshold at 64 MiB and its mmap threshold
// at 32 MiB (the largest glibc allows), so batch-sized buffers are reused, not refaulted. Peak
// memory is unchanged; memory freed below those sizes stays mapped until reused.
void KeepFreedMemoryForReuse();

}  // namespace tributary

#endif  // TRIBUTARY_COMMON_ALLOCATOR_TUNING_H_
