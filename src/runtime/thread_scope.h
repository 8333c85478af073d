// Sets the calling thread's OpenMP team size (what omp_get_max_threads() returns, which oneDNN and the kernels'
// parallel regions read) for a scope, and restores it. omp_set_num_threads changes only the calling thread's
// setting, so concurrent runs and session creations do not interfere.
#pragma once

#include <omp.h>

namespace kestrel::runtime {

class ThreadScope {
 public:
  explicit ThreadScope(int threads) : saved_(omp_get_max_threads()) { omp_set_num_threads(threads > 0 ? threads : 1); }
  ~ThreadScope() { omp_set_num_threads(saved_); }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int saved_;
};

}  // namespace kestrel::runtime
