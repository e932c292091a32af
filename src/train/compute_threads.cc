#include "train/compute_threads.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <thread>

// OpenBLAS keeps its own thread pool; torch's set_num_threads does not reach it.
extern "C" void openblas_set_num_threads(int num_threads);

namespace tributary {

void ConfigureComputeThreads(int intra_op_threads) {
  at::set_num_threads(intra_op_threads);
  openblas_set_num_threads(intra_op_threads);
}

}  // namespace tributary
