// The row loop of the fast LayerNormalization and SkipLayerNormalization kernels: optionally x + skip + bias
// first, then y = (x - mean) / sqrt(var + epsilon) * gamma + beta over rows of D floats, statistics in float
// with 16 partial sums per row (two passes, as the reference does in double). Compiled for AVX-512, AVX2 and
// baseline x86-64; the variant is picked once at start-up.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "providers/cpu/kernels/fast/fast_common.h"

namespace kestrel::cpu::fast {

struct NormRows {
  const float* x = nullptr;
  const float* skip = nullptr;  // optional; row r reads skip row r % skip_rows
  int64_t skip_rows = 1;
  const float* bias = nullptr;   // optional [D], added with skip
  const float* gamma = nullptr;  // [D]
  const float* beta = nullptr;   // optional [D]
  float* y = nullptr;
  int64_t rows = 0, D = 0;
  float epsilon = 0.0f;
};

inline __attribute__((always_inline)) float lane_sum(const Vec16& v) {
  float s = 0.0f;
  for (int i = 0; i < 16; ++i) s += v[i];
  return s;
}

inline __attribute__((always_inline)) void norm_rows_body(const NormRows& job, int64_t begin, int64_t end) {
  const int64_t D = job.D, full = D / 16 * 16;
  Vec16 a, b;
  for (int64_t r = begin; r < end; ++r) {
    const float* xr = job.x + r * D;
    float* yr = job.y + r * D;
    // Pass 1: the row to normalise (x, or x + skip + bias written to y) and its sum.
    const float* src = xr;
    Vec16 sum = Vec16{};
    float tail_sum = 0.0f;
    if (job.skip) {
      const float* sr = job.skip + (r % job.skip_rows) * D;
      for (int64_t i = 0; i < full; i += 16) {
        load16(a, xr + i);
        load16(b, sr + i);
        a += b;
        if (job.bias) {
          load16(b, job.bias + i);
          a += b;
        }
        store16(yr + i, a);
        sum += a;
      }
      for (int64_t i = full; i < D; ++i) {
        const float v = xr[i] + sr[i] + (job.bias ? job.bias[i] : 0.0f);
        yr[i] = v;
        tail_sum += v;
      }
      src = yr;
    } else {
      for (int64_t i = 0; i < full; i += 16) {
        load16(a, xr + i);
        sum += a;
      }
      for (int64_t i = full; i < D; ++i) tail_sum += xr[i];
    }
    const float mean = (lane_sum(sum) + tail_sum) / static_cast<float>(D);
    // Pass 2: variance around the mean.
    Vec16 sq = Vec16{};
    float tail_sq = 0.0f;
    for (int64_t i = 0; i < full; i += 16) {
      load16(a, src + i);
      a -= mean;
      sq += a * a;
    }
    for (int64_t i = full; i < D; ++i) tail_sq += (src[i] - mean) * (src[i] - mean);
    const float inv = 1.0f / std::sqrt((lane_sum(sq) + tail_sq) / static_cast<float>(D) + job.epsilon);
    // Pass 3: normalise, scale, shift.
    for (int64_t i = 0; i < full; i += 16) {
      load16(a, src + i);
      load16(b, job.gamma + i);
      a = (a - mean) * inv * b;
      if (job.beta) {
        load16(b, job.beta + i);
        a += b;
      }
      store16(yr + i, a);
    }
    for (int64_t i = full; i < D; ++i)
      yr[i] = (src[i] - mean) * inv * job.gamma[i] + (job.beta ? job.beta[i] : 0.0f);
  }
}

__attribute__((target("avx512f,fma"))) inline void norm_rows_avx512(const NormRows& job, int64_t begin,
                                                                    int64_t end) {
  norm_rows_body(job, begin, end);
}
__attribute__((target("avx2,fma"))) inline void norm_rows_avx2(const NormRows& job, int64_t begin,
                                                               int64_t end) {
  norm_rows_body(job, begin, end);
}
inline void norm_rows_baseline(const NormRows& job, int64_t begin, int64_t end) {
  norm_rows_body(job, begin, end);
}

using NormRowsFn = void (*)(const NormRows&, int64_t, int64_t);

inline NormRowsFn pick_norm_rows() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return norm_rows_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return norm_rows_avx2;
  return norm_rows_baseline;
}

// Rows split over the session's threads when there is enough work to pay for the fork: a parallel region whose
// second thread has gone to sleep, or lost its core to another process, costs more than BERT-mini's 128 x 256
// rows take on one thread (~13 us).
inline void norm_rows(const NormRows& job, int threads) {
  static const NormRowsFn fn = pick_norm_rows();
  if (threads <= 1 || job.rows < 2 || job.rows * job.D < (int64_t{1} << 16)) return fn(job, 0, job.rows);
#pragma omp parallel num_threads(threads)
  {
    const int64_t n = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t per = (job.rows + n - 1) / n;
    fn(job, std::min(job.rows, t * per), std::min(job.rows, (t + 1) * per));
  }
}

}  // namespace kestrel::cpu::fast
