#include "common/allocator_tuning.h"

#include <malloc.h>

namespace tributary {

void KeepFreedMemoryForReuse() {
#if defined(__GLIBC__)
  // Setting either value also turns off glibc's dynamic adjustment of both.
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
#endif
}

}  // namespace tributary
