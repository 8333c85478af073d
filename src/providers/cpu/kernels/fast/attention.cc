// Fast Attention (ai.kestrel, v1, float) for the packed form the optimizer makes (QKV [B, S, 3E], no W): per
// batch and head, K is packed transposed and V padded once; then blocks of query rows go through scores =
// Q K^T (register-tiled), scale, mask, softmax and P V while they are still in L1, and land in their head's
// columns of Y. Heads (and, when there are fewer heads than threads, row ranges) are spread over the
// session's threads; every buffer is per-thread scratch that only grows. The form with W and bias goes to the
// reference kernel.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "providers/cpu/kernels/fast/fast_common.h"

namespace kestrel::cpu {
namespace {

using fast::Vec16;
constexpr int64_t kLanes = 16;

int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// Everything one work item reads: shapes, strides and pointers for the whole node.
struct AttentionProblem {
  int64_t S = 0, d = 0, heads = 0;
  int64_t qkv_row = 0;                 // 3E: the row stride of Q, K and V inside QKV
  int64_t y_row = 0;                   // E
  int64_t padded_s = 0, padded_d = 0;  // S and d rounded up to whole vectors
  int64_t row_chunks = 1;              // query-row ranges per head (work items per head)
  float scale = 1.0f;
  const float* qkv = nullptr;
  float* y = nullptr;
  const float* mask = nullptr;
  int64_t mask_stride[4] = {0, 0, 0, 0};  // for [batch, head, query, key]
};

// C[MR, 16*NV] = A[MR, K] B[K, 16*NV], row r scaled by row_scale[r]: A read one element at a time
// (broadcast), B and C whole vectors.
template <int MR, int NV>
inline __attribute__((always_inline)) void tile(int64_t K, const float* a, int64_t lda, const float* b,
                                                int64_t ldb, float* c, int64_t ldc, const float* row_scale) {
  Vec16 acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[r][v] = Vec16{};
  for (int64_t k = 0; k < K; ++k) {
    // MR broadcasts, then each vector of B loaded once into one register and used MR times.
    Vec16 av[MR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) av[r] = Vec16{} + a[r * lda + k];
    const float* bk = b + k * ldb;
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      const Vec16 bv = *reinterpret_cast<const fast::UnalignedVec16*>(bk + v * kLanes);
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) acc[r][v] += bv * av[r];
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) fast::store16(c + r * ldc + v * kLanes, acc[r][v] * row_scale[r]);
}

// Columns [0, 16*vectors) of rows [0, MR) in tiles of NV vectors, then the remaining vectors.
template <int MR, int NV>
inline __attribute__((always_inline)) void tile_row(int64_t vectors, int64_t K, const float* a, int64_t lda,
                                                    const float* b, int64_t ldb, float* c, int64_t ldc,
                                                    const float* row_scale) {
  int64_t v = 0;
  for (; v + NV <= vectors; v += NV)
    tile<MR, NV>(K, a, lda, b + v * kLanes, ldb, c + v * kLanes, ldc, row_scale);
  for (; v < vectors; ++v) tile<MR, 1>(K, a, lda, b + v * kLanes, ldb, c + v * kLanes, ldc, row_scale);
}

// C[rows, 16*vectors] = A[rows, K] B[K, 16*vectors] (row r scaled by row_scale[r]) for rows <= MR.
template <int MR, int NV>
inline __attribute__((always_inline)) void small_gemm(int64_t rows, int64_t vectors, int64_t K,
                                                      const float* a, int64_t lda, const float* b,
                                                      int64_t ldb, float* c, int64_t ldc,
                                                      const float* row_scale) {
  static_assert(MR >= 1 && MR <= 4, "row tails below are spelled out up to 4");
  if constexpr (MR >= 4)
    if (rows == 4) return tile_row<4, NV>(vectors, K, a, lda, b, ldb, c, ldc, row_scale);
  if constexpr (MR >= 3)
    if (rows == 3) return tile_row<3, NV>(vectors, K, a, lda, b, ldb, c, ldc, row_scale);
  if constexpr (MR >= 2)
    if (rows == 2) return tile_row<2, NV>(vectors, K, a, lda, b, ldb, c, ldc, row_scale);
  tile_row<1, NV>(vectors, K, a, lda, b, ldb, c, ldc, row_scale);
}

// The 16 x 16 block at src (row stride src_row) transposed into dst (row stride dst_row): four perfect
// shuffles of the rows (row 2i <- interleaved first halves of rows i and i + 8, row 2i + 1 <- second halves)
// transpose it.
inline __attribute__((always_inline)) void transpose16(const float* src, int64_t src_row, float* dst,
                                                       int64_t dst_row) {
  const fast::Int16 first_halves = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23};
  const fast::Int16 second_halves = {8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  Vec16 rows[16], next[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) fast::load16(rows[i], src + i * src_row);
#pragma GCC unroll 4
  for (int stage = 0; stage < 4; ++stage) {
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
      next[2 * i] = __builtin_shuffle(rows[i], rows[i + 8], first_halves);
      next[2 * i + 1] = __builtin_shuffle(rows[i], rows[i + 8], second_halves);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) rows[i] = next[i];
  }
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) fast::store16(dst + i * dst_row, rows[i]);
}

// row[0, S) = exp(row + mask - max), row[S, Sp) = 0; returns the sum. mask (key stride mask_key) may be null.
// A row whose every entry is -inf gives NaN, as Softmax does.
inline __attribute__((always_inline)) float softmax_row(float* row, int64_t S, int64_t Sp, const float* mask,
                                                        int64_t mask_key) {
  using fast::load16;
  using fast::store16;
  Vec16 x, m, mx = Vec16{} - INFINITY;
  int64_t s = 0;
  if (mask && mask_key == 1) {  // the mask added and the maximum taken in one pass
    for (; s + kLanes <= S; s += kLanes) {
      load16(x, row + s);
      load16(m, mask + s);
      x += m;
      store16(row + s, x);
      mx = x > mx ? x : mx;
    }
    for (int64_t t = s; t < S; ++t) row[t] += mask[t];
  } else if (mask) {
    for (int64_t t = 0; t < S; ++t) row[t] += mask[t * mask_key];
  }
  std::fill(row + S, row + Sp, -INFINITY);  // padding: exp gives 0
  for (; s < Sp; s += kLanes) {
    load16(x, row + s);
    mx = x > mx ? x : mx;
  }
  const float row_max = fast::max_lanes(mx);
  Vec16 sum = Vec16{};
  for (s = 0; s < Sp; s += kLanes) {
    load16(x, row + s);
    x -= row_max;
    fast::exp_fast16(x);
    store16(row + s, x);
    sum += x;
  }
  return fast::sum_lanes(sum);
}

// Per-thread scratch (grows, never shrinks), 64-byte aligned.
float* thread_floats(int slot, int64_t count) {
  struct Slot {
    float* data = nullptr;
    int64_t size = 0;
    ~Slot() { std::free(data); }
  };
  thread_local Slot slots[4];
  Slot& s = slots[slot];
  if (count > s.size) {
    std::free(s.data);
    s.size = 0;
    s.data =
        static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>(round_up(count, 16)) * sizeof(float)));
    if (!s.data) throw std::bad_alloc();
    s.size = round_up(count, 16);
  }
  return s.data;
}

// One work item: head h of batch b, query rows [row_begin, row_end). MR x NV is the register tile.
template <int MR, int NV>
inline __attribute__((always_inline)) void attend_item(const AttentionProblem& p, int64_t item) {
  const int64_t chunk = item % p.row_chunks, bh = item / p.row_chunks;
  const int64_t b = bh / p.heads, h = bh % p.heads;
  const int64_t S = p.S, d = p.d, Sp = p.padded_s, dp = p.padded_d;
  const int64_t rows_per_chunk = round_up((S + p.row_chunks - 1) / p.row_chunks, MR);
  const int64_t row_begin = std::min(S, chunk * rows_per_chunk),
                row_end = std::min(S, row_begin + rows_per_chunk);
  if (row_begin >= row_end) return;
  const float* q = p.qkv + b * S * p.qkv_row + h * d;
  const float* k = q + p.y_row;
  const float* v = q + 2 * p.y_row;
  // V is copied into dense rows: in place its rows are 3E apart, which for BERT's sizes maps them onto a few
  // cache sets. Y is written in place when a head's columns are whole vectors.
  const bool whole_vectors = d == dp;
  // K^T [d, Sp] (zero beyond S) with one spare vector per row: a row length of a power of two would put the
  // column being written onto a few cache sets.
  const int64_t kt_row = Sp + kLanes;
  float* kt = thread_floats(0, d * kt_row);
  float* vp = thread_floats(1, S * dp);      // V [S, dp], zero beyond d
  float* probs = thread_floats(2, MR * Sp);  // scores, then unnormalised probabilities, of MR rows
  float* out = whole_vectors ? nullptr : thread_floats(3, MR * dp);  // P V of MR rows
  // K^T in 16 x 16 blocks transposed in registers, the ragged edges element by element.
  const int64_t d_blocks = d / kLanes * kLanes;
  int64_t s = 0;
  for (; s + kLanes <= S; s += kLanes) {
    for (int64_t j = 0; j < d_blocks; j += kLanes)
      transpose16(k + s * p.qkv_row + j, p.qkv_row, kt + j * kt_row + s, kt_row);
    for (int64_t j = d_blocks; j < d; ++j)
      for (int64_t r = 0; r < kLanes; ++r) kt[j * kt_row + s + r] = k[(s + r) * p.qkv_row + j];
  }
  for (; s < S; ++s)
    for (int64_t j = 0; j < d; ++j) kt[j * kt_row + s] = k[s * p.qkv_row + j];
  if (Sp > S)
    for (int64_t j = 0; j < d; ++j) std::fill(kt + j * kt_row + S, kt + j * kt_row + Sp, 0.0f);
  for (int64_t s = 0; s < S; ++s) {
    std::memcpy(vp + s * dp, v + s * p.qkv_row, static_cast<size_t>(d) * sizeof(float));
    std::fill(vp + s * dp + d, vp + (s + 1) * dp, 0.0f);
  }
  const float* mask_bh = p.mask ? p.mask + b * p.mask_stride[0] + h * p.mask_stride[1] : nullptr;
  const int64_t mask_key = p.mask_stride[3];
  float scale[MR];
  for (int r = 0; r < MR; ++r) scale[r] = p.scale;
  for (int64_t i0 = row_begin; i0 < row_end; i0 += MR) {
    const int64_t rows = std::min<int64_t>(MR, row_end - i0);
    small_gemm<MR, NV>(rows, Sp / kLanes, d, q + i0 * p.qkv_row, p.qkv_row, kt, kt_row, probs, Sp, scale);
    float inv_sum[MR];
    for (int64_t r = 0; r < rows; ++r)
      inv_sum[r] = 1.0f / softmax_row(probs + r * Sp, S, Sp,
                                      mask_bh ? mask_bh + (i0 + r) * p.mask_stride[2] : nullptr, mask_key);
    float* y = p.y + (b * S + i0) * p.y_row + h * d;
    if (whole_vectors) {
      small_gemm<MR, NV>(rows, d / kLanes, S, probs, Sp, vp, dp, y, p.y_row, inv_sum);
      continue;
    }
    small_gemm<MR, NV>(rows, dp / kLanes, S, probs, Sp, vp, dp, out, dp, inv_sum);
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(y + r * p.y_row, out + r * dp, static_cast<size_t>(d) * sizeof(float));
  }
}

// The work item compiled for each instruction set, with a register tile that fits its register file:
// AVX-512 4 rows x 64 columns (16 of 32 zmm), AVX2 4 x 16 (8 of 16 ymm), SSE 2 x 16 (8 of 16 xmm).
__attribute__((target("avx512f,fma"))) void attend_item_avx512(const AttentionProblem& p, int64_t item) {
  attend_item<4, 4>(p, item);
}
__attribute__((target("avx2,fma"))) void attend_item_avx2(const AttentionProblem& p, int64_t item) {
  attend_item<4, 1>(p, item);
}
void attend_item_baseline(const AttentionProblem& p, int64_t item) { attend_item<2, 1>(p, item); }

using AttendItem = void (*)(const AttentionProblem&, int64_t);

AttendItem pick_attend_item() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return attend_item_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return attend_item_avx2;
  return attend_item_baseline;
}

const AttendItem kAttendItem = pick_attend_item();

class FastAttention final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (info.has_input(1) || info.has_input(2) || !fast::input_is_float(info, 0)) return nullptr;
    if (info.has_input(3) && !fast::input_is_float(info, 3)) return nullptr;
    return std::make_unique<FastAttention>(info);
  }

  explicit FastAttention(const KernelInfo& info)
      : heads_(info.attr_int("num_heads")),
        scale_(info.attr_float("scale", 0.0f)),
        reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const Tensor* mask = ctx.optional_input(3);
    // The reference kernel checks and reports everything this one does not take.
    if (ctx.optional_input(1) || ctx.optional_input(2) || X.type() != ElementType::kFloat || X.rank() != 3 ||
        (mask && (mask->type() != ElementType::kFloat || mask->rank() > 4)) || heads_ <= 0 ||
        X.dim(2) % (3 * heads_) != 0)
      return reference_->compute(ctx);
    AttentionProblem p;
    const int64_t B = X.dim(0), E = X.dim(2) / 3;
    p.S = X.dim(1);
    p.heads = heads_;
    p.d = E / heads_;
    p.qkv_row = 3 * E;
    p.y_row = E;
    p.padded_s = round_up(p.S, kLanes);
    p.padded_d = round_up(p.d, kLanes);
    p.scale = scale_ != 0.0f ? scale_ : 1.0f / std::sqrt(static_cast<float>(p.d));
    if (mask) {
      // Right-aligned broadcasting to [B, H, S, S]; a mask that does not broadcast is the reference's error.
      const Shape& m = mask->shape();
      const int64_t full[4] = {B, heads_, p.S, p.S};
      int64_t stride = 1;
      for (size_t i = m.size(); i-- > 0;) {
        const size_t k = 4 - m.size() + i;
        if (m[i] != 1 && m[i] != full[k]) return reference_->compute(ctx);
        p.mask_stride[k] = m[i] == 1 ? 0 : stride;
        stride *= m[i];
      }
      p.mask = mask->data<float>();
    }
    const int64_t ys[] = {B, p.S, E};
    // Uninitialised: every head writes all of its columns of every row.
    Tensor& Y = ctx.allocate_uninitialized_output_dims(0, ElementType::kFloat, ys);
    if (Y.size() == 0) return;
    p.qkv = X.data<float>();
    p.y = Y.data<float>();
    const int threads = ctx.intra_op_threads();
    const int64_t heads_total = B * heads_;
    // Fewer heads than threads: split each head's query rows so that every thread has work.
    if (heads_total < threads)
      p.row_chunks = std::min<int64_t>((threads + heads_total - 1) / heads_total, p.S);
    const int64_t items = heads_total * p.row_chunks;
    const int64_t work = heads_total * p.S * p.S * p.d;  // multiply-adds of one of the two products
    const AttendItem attend = kAttendItem;
    parallel_ranges(items, threads, work > 32768, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; ++item) attend(p, item);
    });
  }

 private:
  int64_t heads_;
  float scale_;
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(Attention, "ai.kestrel", 1, 1000, "float", 10, &FastAttention::create);

}  // namespace kestrel::cpu
