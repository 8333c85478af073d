// The plain matrix-multiply loop shared by Conv, ConvTranspose, Gemm, MatMul and their integer/quantized
// forms, and numpy-style batch broadcasting for the MatMul family.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "providers/cpu/kernels/onnx/nn_types.h"

namespace kestrel::cpu {

namespace gemm_detail {

// 16-byte vectors (GCC/Clang vector extension): SSE2 on any x86-64, NEON on arm64. Wider ISAs come with the
// oneDNN-backed kernels; this loop only has to keep the reference path from being pathological.
template <typename T>
struct Vec {
  typedef T type __attribute__((vector_size(16)));
  static constexpr int64_t kLanes = 16 / sizeof(T);
};

template <typename V, typename T>
inline V load(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}
template <typename V, typename T>
inline void store(T* p, const V& v) {
  std::memcpy(p, &v, sizeof(V));
}

constexpr int64_t kRows = 6;     // rows of C held in registers
constexpr int64_t kDepth = 256;  // k per pass, so the B panel (kDepth x 2 vectors) stays in L1

// C[0..rows, 0..2 * lanes) += A[0..rows, k0..k1) * B[k0..k1, 0..2 * lanes), all row-major.
template <typename T, int64_t kR>
inline void micro_kernel(int64_t k0, int64_t k1, const T* A, int64_t lda, const T* B, int64_t ldb, T* C,
                         int64_t ldc) {
  using V = typename Vec<T>::type;
  constexpr int64_t L = Vec<T>::kLanes;
  V acc[kR][2];
  for (int64_t i = 0; i < kR; ++i) {
    acc[i][0] = load<V>(C + i * ldc);
    acc[i][1] = load<V>(C + i * ldc + L);
  }
  for (int64_t k = k0; k < k1; ++k) {
    const V b0 = load<V>(B + k * ldb), b1 = load<V>(B + k * ldb + L);
    for (int64_t i = 0; i < kR; ++i) {
      const T a = A[i * lda + k];
      acc[i][0] += a * b0;
      acc[i][1] += a * b1;
    }
  }
  for (int64_t i = 0; i < kR; ++i) {
    store(C + i * ldc, acc[i][0]);
    store(C + i * ldc + L, acc[i][1]);
  }
}

template <typename T>
inline void row_block(int64_t rows, int64_t k0, int64_t k1, const T* A, int64_t lda, const T* B, int64_t ldb,
                      T* C, int64_t ldc) {
  switch (rows) {
    case 6:
      micro_kernel<T, 6>(k0, k1, A, lda, B, ldb, C, ldc);
      break;
    case 5:
      micro_kernel<T, 5>(k0, k1, A, lda, B, ldb, C, ldc);
      break;
    case 4:
      micro_kernel<T, 4>(k0, k1, A, lda, B, ldb, C, ldc);
      break;
    case 3:
      micro_kernel<T, 3>(k0, k1, A, lda, B, ldb, C, ldc);
      break;
    case 2:
      micro_kernel<T, 2>(k0, k1, A, lda, B, ldb, C, ldc);
      break;
    default:
      micro_kernel<T, 1>(k0, k1, A, lda, B, ldb, C, ldc);
      break;
  }
}

}  // namespace gemm_detail

namespace gemm_detail {

// Rows [m_begin, m_end) of gemm_accumulate.
template <typename T>
void gemm_rows(int64_t m_begin, int64_t m_end, int64_t N, int64_t K, const T* A, int64_t lda, const T* B,
               int64_t ldb, T* C, int64_t ldc) {
  constexpr int64_t NR = 2 * Vec<T>::kLanes;
  int64_t n0 = 0;
  for (; n0 + NR <= N; n0 += NR)
    for (int64_t k0 = 0; k0 < K; k0 += kDepth) {
      const int64_t k1 = std::min(K, k0 + kDepth);
      for (int64_t m = m_begin; m < m_end; m += kRows)
        row_block<T>(std::min(kRows, m_end - m), k0, k1, A + m * lda, lda, B + n0, ldb, C + m * ldc + n0,
                     ldc);
    }
  if (n0 == N) return;
  // Remaining columns: pad B's and C's tails to a full panel.
  const int64_t w = N - n0;
  std::vector<T> bp(static_cast<size_t>(K * NR), T{}), cp(static_cast<size_t>(kRows * NR), T{});
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < w; ++j) bp[static_cast<size_t>(k * NR + j)] = B[k * ldb + n0 + j];
  for (int64_t m = m_begin; m < m_end; m += kRows) {
    const int64_t rows = std::min(kRows, m_end - m);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < w; ++j) cp[static_cast<size_t>(i * NR + j)] = C[(m + i) * ldc + n0 + j];
    for (int64_t k0 = 0; k0 < K; k0 += kDepth)
      row_block<T>(rows, k0, std::min(K, k0 + kDepth), A + m * lda, lda, bp.data(), NR, cp.data(), NR);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < w; ++j) C[(m + i) * ldc + n0 + j] = cp[static_cast<size_t>(i * NR + j)];
  }
}

}  // namespace gemm_detail

// C[m, n] += sum_k A[m, k] * B[k, n], all row-major with leading dimensions lda/ldb/ldc. C is walked in
// panels of two vectors' width; each 6-row block of a panel is accumulated in registers over a k range (see
// micro_kernel). The last, narrower panel goes through a zero-padded copy so every column uses the same loop.
// T is the accumulation type (any arithmetic type). With threads > 1 and enough work, row blocks are split
// between OpenMP threads (each writes its own rows of C).
template <typename T>
void gemm_accumulate(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb, T* C,
                     int64_t ldc, int threads = 1) {
  using namespace gemm_detail;
  if (M <= 0 || N <= 0 || K <= 0) return;
  const int64_t blocks = (M + kRows - 1) / kRows;
  const int64_t nt =
      (threads > 1 && M * N * K >= (int64_t{1} << 24)) ? std::min<int64_t>(threads, blocks) : 1;
  if (nt <= 1) {
    gemm_rows<T>(0, M, N, K, A, lda, B, ldb, C, ldc);
    return;
  }
  const int team = static_cast<int>(nt);
#pragma omp parallel for num_threads(team) schedule(static)
  for (int64_t t = 0; t < nt; ++t) {
    const int64_t m_begin = std::min(M, blocks * t / nt * kRows),
                  m_end = std::min(M, blocks * (t + 1) / nt * kRows);
    if (m_begin < m_end) gemm_rows<T>(m_begin, m_end, N, K, A, lda, B, ldb, C, ldc);
  }
}

// Row-major transpose of a rows x cols matrix into dst (cols x rows).
template <typename T>
void transpose_matrix(const T* src, int64_t rows, int64_t cols, T* dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
}

// Shapes of a numpy matmul (ONNX MatMul): 1-D operands are promoted ([K] -> [1, K] for A, [K] -> [K, 1] for
// B) and the promoted dim removed from the result; batch dims broadcast.
struct MatMulShape {
  int64_t M = 0, N = 0, K = 0;
  Shape out;                      // result shape
  int64_t batch = 1;              // number of (M x N) result matrices
  std::vector<int64_t> a_offset;  // per batch: index of the A matrix to use
  std::vector<int64_t> b_offset;  // per batch: index of the B matrix to use
};

// matmul_shape's checks and sizes without the per-batch offsets: M, N, K and batch into `s` (its out and offsets
// untouched), the result shape appended to `out` (a Shape, or a stack-built InlineShape when the ranks fit), so a
// kernel that hands the broadcast to a library builds nothing.
template <typename Who, typename Out>
void matmul_dims(const Who& who, std::span<const int64_t> a, std::span<const int64_t> b, MatMulShape& s, Out& out) {
  if (a.empty() || b.empty()) who.fail("MatMul operands must have rank >= 1 (got a scalar)");
  const bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  // Promoted ranks: [K] -> [1, K] for A, [K] -> [K, 1] for B.
  const size_t pa = a_vec ? 2 : a.size(), pb = b_vec ? 2 : b.size();
  s.M = a_vec ? 1 : a[a.size() - 2];
  s.K = a[a.size() - 1];
  s.N = b_vec ? 1 : b[b.size() - 1];
  if ((b_vec ? b[0] : b[b.size() - 2]) != s.K)
    who.fail("inner dimensions do not match: A is " + shape_to_string(Shape(a.begin(), a.end())) + ", B is " +
             shape_to_string(Shape(b.begin(), b.end())) + " (A's last dim must equal B's second-to-last)");
  const size_t ra = pa - 2, rb = pb - 2, r = std::max(ra, rb);
  s.batch = 1;
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i + ra >= r ? a[i + ra - r] : 1;
    const int64_t db = i + rb >= r ? b[i + rb - r] : 1;
    if (da != db && da != 1 && db != 1)
      who.fail("batch dimensions cannot be broadcast: A is " + shape_to_string(Shape(a.begin(), a.end())) +
               ", B is " + shape_to_string(Shape(b.begin(), b.end())));
    out.push_back(da == 1 ? db : da);
    s.batch *= da == 1 ? db : da;
  }
  if (!a_vec) out.push_back(s.M);
  if (!b_vec) out.push_back(s.N);
}

template <typename Who>
MatMulShape matmul_shape(const Who& who, const Shape& a_in, const Shape& b_in) {
  MatMulShape s;
  matmul_dims(who, a_in, b_in, s, s.out);
  const size_t ra = a_in.size() < 2 ? 0 : a_in.size() - 2, rb = b_in.size() < 2 ? 0 : b_in.size() - 2;
  const size_t r = std::max(ra, rb);
  Shape batch(r), sa(r, 1), sb(r, 1);
  for (size_t i = 0; i < r; ++i) {
    sa[i] = i + ra >= r ? a_in[i + ra - r] : 1;
    sb[i] = i + rb >= r ? b_in[i + rb - r] : 1;
    batch[i] = sa[i] == 1 ? sb[i] : sa[i];
  }
  s.a_offset.assign(static_cast<size_t>(s.batch), 0);
  s.b_offset.assign(static_cast<size_t>(s.batch), 0);
  // Walk the broadcast batch index and map it back to each operand (size-1 dims repeat).
  std::vector<int64_t> idx(r, 0);
  for (int64_t t = 0; t < s.batch; ++t) {
    int64_t oa = 0, ob = 0;
    for (size_t i = 0; i < r; ++i) {
      oa = oa * sa[i] + (sa[i] == 1 ? 0 : idx[i]);
      ob = ob * sb[i] + (sb[i] == 1 ? 0 : idx[i]);
    }
    s.a_offset[static_cast<size_t>(t)] = oa;
    s.b_offset[static_cast<size_t>(t)] = ob;
    for (size_t i = r; i-- > 0;) {
      if (++idx[i] < batch[i]) break;
      idx[i] = 0;
    }
  }
  return s;
}

}  // namespace kestrel::cpu
