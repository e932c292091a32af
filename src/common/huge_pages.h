// Transparent huge pages for large buffers that are about to be filled: a 1 GiB buffer touched
// 4 KiB at a time takes 262,144 page faults, which cost more than copying the bytes into it.
#ifndef TRIBUTARY_COMMON_HUGE_PAGES_H_
#define TRIBUTARY_COMMON_HUGE_PAGES_H_

#include <cstddef>

namespace tributary {

// Asks the kernel to back the whole 2 MiB pages inside [data, data + bytes) with huge pages
// (madvise MADV_HUGEPAGE). Call it before the memory is first written. Buffers under a few MiB
// are left alone; where the kernel declines (huge pages off, not Linux) nothing changes.
void AdviseHugePages(void* data, size_t bytes);

}  // namespace tributary

#endif  // TRIBUTARY_COMMON_HUGE_PAGES_H_
