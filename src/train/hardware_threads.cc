// Apart from compute_threads.cc, which includes libtorch: configs resolve their thread counts
// without it.
#include <algorithm>
#include <thread>

#include "train/compute_threads.h"

namespace tributary {

int HardwareThreads() { return std::max(1u, std::thread::hardware_concurrency()); }

}  // namespace tributary
