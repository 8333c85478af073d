// Fast ai.kestrel QLinearAdd and QLinearMul when one operand has the output's shape and the other is one
// value, runs along the output's last dim, or is one value per row of it (same shapes, NHWC [N,1,1,C] or NCHW
// [N,C,1,1] squeeze-excitation scales): the small operand is dequantized once, then each run of the output is
// dequantized, combined and requantized in one pass (AVX-512 when the CPU has it, else a scalar loop), with the
// reference's float operations in its order: float(q - z) * s, the op (commutative in IEEE arithmetic, so the
// operands' order does not matter), then saturate(round_half_even(r / c_scale) + c_zero). Large outputs are
// split over the threads; other broadcasts keep the reference kernel.
#include "providers/cpu/kernels/kestrel/q_linear_binary.h"

#include <immintrin.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/fast/pack_bytes.h"
#include "providers/cpu/kernels/fast/quantize_simd.h"
#include "providers/cpu/kernels/fast/tail_mask.h"

namespace kestrel::cpu {
namespace {

// Outputs from this many elements are split over the threads: below it a fork/join costs about what it saves.
constexpr int64_t kParallelFrom = int64_t{1} << 17;

// The big operand's dequantization and the output's quantization parameters.
struct RunParams {
  int32_t big_zero;
  float big_scale, c_scale, c_zero;
};

// y[i] = Q(op(float(big[i] - zero) * scale, small[kSmallOne ? 0 : i])) for i < n.
template <QLinearBinaryOp Op, typename QIn, typename QOut, bool kSmallOne>
void combine_run_scalar(const QIn* big, const float* small, int64_t n, const RunParams& p, QOut* y) {
  for (int64_t i = 0; i < n; ++i) {
    const float a = static_cast<float>(static_cast<int32_t>(big[i]) - p.big_zero) * p.big_scale;
    const float r = apply_binary<Op>(a, small[kSmallOne ? 0 : i]);
    y[i] = saturate_round<QOut>(std::nearbyint(r / p.c_scale) + p.c_zero);
  }
}

// y[i] = Q(op(float(a[i] - za) * sa, float(b[i] - zb) * sb)) for i < n: two operands of the output's shape.
struct PairParams {
  int32_t a_zero, b_zero;
  float a_scale, b_scale, c_scale, c_zero;
};

// Explicitly rounded operations below: the compiler may not contract a dequantization's multiply and the Add
// into one fused multiply-add, which the reference's separate float operations do not do.
constexpr int kNear = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

template <QLinearBinaryOp Op>
__attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) inline __m512 apply16(__m512 a, __m512 b) {
  return Op == QLinearBinaryOp::kAdd ? _mm512_add_round_ps(a, b, kNear) : _mm512_mul_round_ps(a, b, kNear);
}

template <typename Q>
__attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) inline __m512 dequantize16(
    const Q* x, __mmask16 m, __m512i zero, __m512 scale) {
  const __m128i raw = _mm_maskz_loadu_epi8(m, x);
  const __m512i wide = std::is_same_v<Q, uint8_t> ? _mm512_cvtepu8_epi32(raw) : _mm512_cvtepi8_epi32(raw);
  return _mm512_mul_round_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(wide, zero)), scale, kNear);
}

template <typename QOut>
__attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) inline void quantize16(
    __m512 r, __m512 scale, __m512 zero, __mmask16 m, QOut* y) {
  const __m512 lo = _mm512_set1_ps(static_cast<float>(std::numeric_limits<QOut>::lowest()));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(std::numeric_limits<QOut>::max()));
  __m512 q = _mm512_roundscale_ps(_mm512_div_ps(r, scale), kNear);
  q = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(q, zero), lo), hi);  // max(NaN, lo) is lo, as saturate_round
  const __m512i v = _mm512_cvtps_epi32(q);
  if constexpr (std::is_same_v<QOut, uint8_t>)
    _mm_mask_storeu_epi8(y, m, _mm512_cvtusepi32_epi8(v));
  else
    _mm_mask_storeu_epi8(y, m, _mm512_cvtsepi32_epi8(v));
}

// Sixteen results rounded and offset by the output zero point, as int32 (saturated by fast::pack64): the
// reference's round(r / c_scale) + c_zero with the rounding done by the conversion (round half to even, as
// nearbyint) and the zero point added as an integer, which is exact; values beyond +-2^30 are clamped first
// so that the conversion cannot overflow (they saturate alike), and max(NaN, lo) is lo, as in saturate_round.
__attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) inline __m512i rounded16(__m512 r,
                                                                                             __m512 scale,
                                                                                             __m512i zero) {
  const __m512 lim = _mm512_set1_ps(1073741824.0f);
  const __m512 q = _mm512_min_ps(_mm512_max_ps(_mm512_div_ps(r, scale), -lim), lim);
  return _mm512_add_epi32(_mm512_cvtps_epi32(q), zero);
}

template <QLinearBinaryOp Op, typename QA, typename QB, typename QOut>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void combine_pair_avx512(const QA* a, const QB* b, int64_t n,
                                                                              const PairParams& p, QOut* y) {
  const __m512 vsa = _mm512_set1_ps(p.a_scale), vsb = _mm512_set1_ps(p.b_scale);
  const __m512i vza = _mm512_set1_epi32(p.a_zero), vzb = _mm512_set1_epi32(p.b_zero);
  const __m512 vcs = _mm512_set1_ps(p.c_scale), vcz = _mm512_set1_ps(p.c_zero);
  const __m512i vczi = _mm512_set1_epi32(static_cast<int32_t>(p.c_zero));
  const __mmask16 all = 0xFFFF;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    __m512i r[4];
    for (int k = 0; k < 4; ++k) {
      const int64_t at = i + 16 * k;
      r[k] = rounded16(apply16<Op>(dequantize16(a + at, all, vza, vsa), dequantize16(b + at, all, vzb, vsb)),
                       vcs, vczi);
    }
    fast::pack64(r[0], r[1], r[2], r[3], y + i);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = fast::tail_mask(n - i);
    const __m512 va = dequantize16(a + i, m, vza, vsa), vb = dequantize16(b + i, m, vzb, vsb);
    quantize16(apply16<Op>(va, vb), vcs, vcz, m, y + i);
  }
}

template <QLinearBinaryOp Op, typename QA, typename QB, typename QOut>
void combine_pair(const QA* a, const QB* b, int64_t n, const PairParams& p, QOut* y) {
  if (fast::has_avx512()) return combine_pair_avx512<Op>(a, b, n, p, y);
  for (int64_t i = 0; i < n; ++i) {
    const float va = static_cast<float>(static_cast<int32_t>(a[i]) - p.a_zero) * p.a_scale;
    const float vb = static_cast<float>(static_cast<int32_t>(b[i]) - p.b_zero) * p.b_scale;
    y[i] = saturate_round<QOut>(std::nearbyint(apply_binary<Op>(va, vb) / p.c_scale) + p.c_zero);
  }
}

template <QLinearBinaryOp Op, typename QIn, typename QOut, bool kSmallOne>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void combine_run_avx512(const QIn* big, const float* small,
                                                                             int64_t n, const RunParams& p, QOut* y) {
  const __m512 vs = _mm512_set1_ps(p.big_scale), vcs = _mm512_set1_ps(p.c_scale), vcz = _mm512_set1_ps(p.c_zero);
  const __m512i vz = _mm512_set1_epi32(p.big_zero);
  const __m512i vczi = _mm512_set1_epi32(static_cast<int32_t>(p.c_zero));
  const __m512 vone = _mm512_set1_ps(small[0]);
  const __mmask16 all = 0xFFFF;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    __m512i r[4];
    for (int k = 0; k < 4; ++k) {
      const int64_t at = i + 16 * k;
      const __m512 b = kSmallOne ? vone : _mm512_loadu_ps(small + at);
      r[k] = rounded16(apply16<Op>(dequantize16(big + at, all, vz, vs), b), vcs, vczi);
    }
    fast::pack64(r[0], r[1], r[2], r[3], y + i);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = fast::tail_mask(n - i);
    const __m512 a = dequantize16(big + i, m, vz, vs);
    const __m512 b = kSmallOne ? vone : _mm512_maskz_loadu_ps(m, small + i);
    quantize16(apply16<Op>(a, b), vcs, vcz, m, y + i);
  }
}

template <QLinearBinaryOp Op, typename QIn, typename QOut>
void combine_run(const QIn* big, const float* small, bool small_one, int64_t n, const RunParams& p, QOut* y) {
  if (fast::has_avx512()) {
    if (small_one)
      combine_run_avx512<Op, QIn, QOut, true>(big, small, n, p, y);
    else
      combine_run_avx512<Op, QIn, QOut, false>(big, small, n, p, y);
  } else if (small_one) {
    combine_run_scalar<Op, QIn, QOut, true>(big, small, n, p, y);
  } else {
    combine_run_scalar<Op, QIn, QOut, false>(big, small, n, p, y);
  }
}

// fn(data) with a uint8 or int8 tensor's data pointer.
template <typename Fn>
void with_byte_type(const Tensor& t, const Fn& fn) {
  if (t.type() == ElementType::kUInt8)
    fn(t.data<uint8_t>());
  else
    fn(t.data<int8_t>());
}

template <QLinearBinaryOp Op>
class FastQLinearBinary final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    return std::make_unique<FastQLinearBinary>(info);
  }
  explicit FastQLinearBinary(const KernelInfo& info) : reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const QLinearBinaryParams p = QLinearBinaryParams::read(ctx);
    const Tensor& A = ctx.input(0);
    const Tensor& B = ctx.input(3);
    const Shape out = broadcast_shapes(ctx, {&A.shape(), &B.shape()});
    // One operand has the output's shape (the big one); the other (the small one) is one value, or runs along
    // the output's last dim or is one value per row of it.
    const bool a_big = A.shape() == out;
    const Tensor& big = a_big ? A : B;
    const Tensor& small = a_big ? B : A;
    const int64_t total = shape_size(out);
    const int64_t row = out.empty() ? 1 : out.back();
    const bool whole = small.size() == 1;
    const bool small_runs = !whole && small.rank() > 0 && small.shape().back() == row;
    const bool small_per_row = !whole && (small.rank() == 0 || small.shape().back() == 1);
    if (big.shape() != out || (!whole && !small_runs && !small_per_row) || small.size() > (int64_t{1} << 20))
      return reference_->compute(ctx);
    Tensor& C = ctx.allocate_uninitialized_output(0, p.c_type, out);  // every element written
    if (total == 0) return;
    const int threads = total >= kParallelFrom ? ctx.intra_op_threads() : 1;
    // Ranges of whole cache lines of the output per thread.
    const int64_t lines = (total + 63) / 64;
    const bool out_u8 = p.c_type == ElementType::kUInt8;
    if (small.shape() == out) {  // both operands of the output's shape: both dequantized in the same pass
      const PairParams params{p.a_zero, p.b_zero, p.a_scale, p.b_scale, p.c_scale, static_cast<float>(p.c_zero)};
      parallel_ranges(lines, threads, threads > 1, [&](int64_t l0, int64_t l1) {
        const int64_t begin = l0 * 64, n = std::min(total, l1 * 64) - begin;
        with_byte_type(A, [&](auto* a) {
          with_byte_type(B, [&](auto* b) {
            if (out_u8)
              combine_pair<Op>(a + begin, b + begin, n, params, C.data<uint8_t>() + begin);
            else
              combine_pair<Op>(a + begin, b + begin, n, params, C.data<int8_t>() + begin);
          });
        });
      });
      return;
    }
    const int32_t big_zero = a_big ? p.a_zero : p.b_zero, small_zero = a_big ? p.b_zero : p.a_zero;
    const float big_scale = a_big ? p.a_scale : p.b_scale, small_scale = a_big ? p.b_scale : p.a_scale;
    // The small operand dequantized once (on the stack unless it is large).
    constexpr int64_t kOnStack = 4096;
    float on_stack[kOnStack];
    std::vector<float> on_heap(small.size() > kOnStack ? static_cast<size_t>(small.size()) : 0);
    float* small_values = small.size() > kOnStack ? on_heap.data() : on_stack;
    if (small.type() == ElementType::kUInt8)
      fast::dequantize(small.data<uint8_t>(), small.size(), small_zero, small_scale, small_values, 1);
    else
      fast::dequantize(small.data<int8_t>(), small.size(), small_zero, small_scale, small_values, 1);
    // Rows of the output (the whole output when the small operand is one value) and the small operand's row
    // for each.
    const int64_t run_row = whole ? total : row;
    const Shape out_rows(out.begin(), out.end() - (out.empty() ? 0 : 1));
    const Shape small_rows =
        small.rank() == 0 ? Shape{} : Shape(small.shape().begin(), small.shape().end() - 1);
    const BroadcastIndex small_row(small_rows, out_rows);
    const RunParams params{big_zero, big_scale, p.c_scale, static_cast<float>(p.c_zero)};
    // One short row for every output row (a channels-last squeeze-excitation scale of a single image): the row
    // repeated to about 1024 values, so that each call combines that many instead of one row's few channels.
    constexpr int64_t kTiled = 1024;
    const bool tile = small_runs && small.size() == row && row < kTiled;
    alignas(64) float tiled[2 * kTiled];
    const int64_t tiled_len = tile ? (kTiled + row - 1) / row * row : 0;
    for (int64_t i = 0; i < tiled_len; ++i) tiled[i] = small_values[i % row];
    parallel_ranges(lines, threads, threads > 1, [&](int64_t l0, int64_t l1) {
      const int64_t begin = l0 * 64, end = std::min(total, l1 * 64);
      with_byte_type(big, [&](auto* x) {
        for (int64_t o = begin; o < end;) {
          const int64_t r = o / run_row, col = o % run_row;
          const int64_t len = std::min(end - o, tile ? tiled_len - col : run_row - col);
          const float* s = tile    ? tiled
                           : whole ? small_values
                                   : small_values + small_row(r) * (small_runs ? row : 1);
          if (out_u8)
            combine_run<Op>(x + o, small_runs ? s + col : s, !small_runs, len, params, C.data<uint8_t>() + o);
          else
            combine_run<Op>(x + o, small_runs ? s + col : s, !small_runs, len, params, C.data<int8_t>() + o);
          o += len;
        }
      });
    });
  }

 private:
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(QLinearAdd, "ai.kestrel", 1, 1000, "uint8, int8", 10,
                    &FastQLinearBinary<QLinearBinaryOp::kAdd>::create);
KESTREL_FAST_KERNEL(QLinearMul, "ai.kestrel", 1, 1000, "uint8, int8", 10,
                    &FastQLinearBinary<QLinearBinaryOp::kMul>::create);

}  // namespace kestrel::cpu
