// Splitting a kernel's loop over the session's threads without an OpenMP region when it runs on one thread.
#pragma once

#include <omp.h>

#include <cstdint>

namespace kestrel::cpu {

// Calls body(begin, end) over [0, n): split in contiguous ranges over `threads` OpenMP threads when `parallel`,
// else once on the calling thread without entering a parallel region, because libgomp allocates (and frees) a
// team for every region that runs on one thread (an `if` clause that is false, or num_threads(1)). A hot body
// calls a KESTREL_ISA_CLONES function, which keeps its vector code.
template <typename Body>
inline void parallel_ranges(int64_t n, int threads, bool parallel, const Body& body) {
  if (!parallel || threads <= 1 || n <= 1) {
    if (n > 0) body(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), team = omp_get_num_threads();
    const int64_t begin = n * t / team, end = n * (t + 1) / team;
    if (begin < end) body(begin, end);
  }
}

}  // namespace kestrel::cpu
