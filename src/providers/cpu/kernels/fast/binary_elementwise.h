// Fast float Add/Sub/Mul/Div (opset 7+, numpy broadcasting) for the shapes real models use: equal shapes, one
// element, a vector repeated along leading dims (bias rows, attention masks), and one value per leading index
// spread over the trailing dims (squeeze-excitation scales, per-channel constants). Vectorised loops, split
// over the session's threads when large; any other broadcast goes to the reference kernel. Each op registers
// in its own file.
#pragma once

#include <omp.h>

#include <algorithm>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "runtime/inline_shape.h"

namespace kestrel::cpu::fast {

enum class BinaryOp { kAdd, kSub, kMul, kDiv };

template <BinaryOp kOp>
inline float apply_binary(float a, float b) {
  if constexpr (kOp == BinaryOp::kAdd) return a + b;
  if constexpr (kOp == BinaryOp::kSub) return a - b;
  if constexpr (kOp == BinaryOp::kMul) return a * b;
  return a / b;
}

// y[o, i] = a[o, i] op b[o, i] where either side may be broadcast: a's (and b's) element (o, i) sits at
// o * a_os + i * a_is (stride 0 along a broadcast dim). The innermost loop is unit-stride or constant.
template <BinaryOp kOp>
KESTREL_ISA_CLONES void binary_rows(const float* a, int64_t a_os, int64_t a_is, const float* b, int64_t b_os,
                                    int64_t b_is, float* y, int64_t inner, int64_t o_begin, int64_t o_end) {
  for (int64_t o = o_begin; o < o_end; ++o) {
    const float* ao = a + o * a_os;
    const float* bo = b + o * b_os;
    float* yo = y + o * inner;
    if (a_is == 1 && b_is == 1) {
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) yo[i] = apply_binary<kOp>(ao[i], bo[i]);
    } else if (a_is == 1) {
      const float bv = bo[0];
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) yo[i] = apply_binary<kOp>(ao[i], bv);
    } else if (b_is == 1) {
      const float av = ao[0];
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) yo[i] = apply_binary<kOp>(av, bo[i]);
    } else {
      const float v = apply_binary<kOp>(ao[0], bo[0]);
      std::fill(yo, yo + inner, v);
    }
  }
}

template <BinaryOp kOp>
void binary_2d(const float* a, int64_t a_os, int64_t a_is, const float* b, int64_t b_os, int64_t b_is, float* y,
               int64_t outer, int64_t inner, int threads) {
  parallel_ranges(outer, threads, outer * inner > 65536, [&](int64_t begin, int64_t end) {
    binary_rows<kOp>(a, a_os, a_is, b, b_os, b_is, y, inner, begin, end);
  });
}

template <BinaryOp kOp>
class FastBinary final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (info.opset() < 7 || !input_is_float(info, 0) || !input_is_float(info, 1)) return nullptr;
    return std::make_unique<FastBinary>(info);
  }
  explicit FastBinary(const KernelInfo& info) : reference_(reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& A = ctx.input(0);
    const Tensor& B = ctx.input(1);
    if (A.type() != ElementType::kFloat || B.type() != ElementType::kFloat) return reference_->compute(ctx);
    const Shape& as = A.shape();
    const Shape& bs = B.shape();
    const size_t r = std::max(as.size(), bs.size());
    if (r > runtime::InlineShape::kCapacity) return reference_->compute(ctx);
    runtime::InlineShape a, b, out;  // built on the stack: a run allocates nothing
    for (size_t i = 0; i < r; ++i) {
      a.push_back(i + as.size() >= r ? as[i + as.size() - r] : 1);
      b.push_back(i + bs.size() >= r ? bs[i + bs.size() - r] : 1);
    }
    for (size_t i = 0; i < r; ++i) {
      if (a[i] != b[i] && a[i] != 1 && b[i] != 1) return reference_->compute(ctx);  // it reports the mismatch
      out.push_back(a[i] == 1 ? b[i] : a[i]);
    }
    // The product of dims [begin, end) of `s`.
    auto product = [](const runtime::InlineShape& s, size_t begin, size_t end) {
      int64_t p = 1;
      for (size_t i = begin; i < end; ++i) p *= s[i];
      return p;
    };
    const int64_t n = product(out, 0, r);
    // The operand with the full output shape ("big") and the other one ("small").
    const bool a_big = A.size() == n;
    if (!a_big && B.size() != n) return reference_->compute(ctx);  // both broadcast: the general loops
    const runtime::InlineShape& small = a_big ? b : a;
    int64_t outer = 1, inner = n, s_os = 0, s_is = 0;
    if (n == 0) {
      ctx.allocate_output_dims(0, ElementType::kFloat, out.span());
      return;
    } else if (product(small, 0, r) == n) {  // equal shapes
      outer = 1, s_os = 0, s_is = 1;
    } else if (product(small, 0, r) == 1) {
      outer = 1, s_os = 0, s_is = 0;
    } else {
      // k splits the dims: small is [1..1, out[k..]] (a repeated row) or [out[..k], 1..1] (a value per
      // index).
      size_t lead_ones = 0, trail_ones = 0;
      while (lead_ones < r && small[lead_ones] == 1) ++lead_ones;
      while (trail_ones < r && small[r - 1 - trail_ones] == 1) ++trail_ones;
      const size_t row_k = lead_ones, col_k = r - trail_ones;
      bool row = true, col = true;
      for (size_t i = row_k; i < r; ++i) row = row && small[i] == out[i];
      for (size_t i = 0; i < col_k; ++i) col = col && small[i] == out[i];
      if (row) {
        inner = product(out, row_k, r);
        outer = n / inner;
        s_os = 0, s_is = 1;
      } else if (col) {
        outer = product(out, 0, col_k);
        inner = n / outer;
        s_os = 1, s_is = 0;
      } else {
        return reference_->compute(ctx);
      }
    }
    // every element is written
    Tensor& Y = ctx.allocate_uninitialized_output_dims(0, ElementType::kFloat, out.span());
    const float* big_p = (a_big ? A : B).data<float>();
    const float* small_p = (a_big ? B : A).data<float>();
    const int threads = ctx.intra_op_threads();
    if (a_big)
      binary_2d<kOp>(big_p, inner, 1, small_p, s_os, s_is, Y.data<float>(), outer, inner, threads);
    else
      binary_2d<kOp>(small_p, s_os, s_is, big_p, inner, 1, Y.data<float>(), outer, inner, threads);
  }

 private:
  std::unique_ptr<Kernel> reference_;
};

}  // namespace kestrel::cpu::fast
