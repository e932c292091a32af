// Explicit control of the compute threads that libtorch and OpenBLAS use, so that concurrent
// clients do not oversubscribe the cores.
#ifndef TRIBUTARY_TRAIN_COMPUTE_THREADS_H_
#define TRIBUTARY_TRAIN_COMPUTE_THREADS_H_

namespace tributary {

// Sets the intra-op thread count of libtorch (OpenMP) and OpenBLAS for threads that start
// computing after this call. Call once, before the worker threads run. Requires: threads >= 1.
void ConfigureComputeThreads(int intra_op_threads);

// Number of hardware threads (at least 1).
int HardwareThreads();

}  // namespace tributary

#endif  // TRIBUTARY_TRAIN_COMPUTE_THREADS_H_
