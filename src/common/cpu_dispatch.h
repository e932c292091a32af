// TRIB_CLONE_AVX2 before a function builds it twice, for AVX2 and for baseline x86-64, and picks
// one when the program loads (GCC function multi-versioning). Use it on hot, auto-vectorized
// loops; elsewhere, and on other architectures, it expands to nothing. Under ThreadSanitizer it
// also expands to nothing: the loader runs the clones' resolver before the sanitizer's runtime
// has started, and the instrumented resolver crashes the program at load.
#ifndef TRIBUTARY_COMMON_CPU_DISPATCH_H_
#define TRIBUTARY_COMMON_CPU_DISPATCH_H_

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_THREAD__)
#define TRIB_CLONE_AVX2 __attribute__((target_clones("avx2", "default")))
#else
#define TRIB_CLONE_AVX2
#endif

#endif  // TRIBUTARY_COMMON_CPU_DISPATCH_H_
