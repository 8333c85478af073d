// Fast float Add/Sub/Mul/Div (opset 7+, numpy broadcasting) for the shapes real models use: equal shapes, one
// element, a vector repeated along leading dims (bias rows, attention masks), and one value per leading index
// spread over the trailing dims (squeeze-excitation scales, per-channel constants). Vectorised loops, split
// over the session's threads when large; any other broadcast goes to the reference kernel. Each op registers
// in its own file.
#pragma once

#include <omp.h>

#include <algorithm>

#include "providers/cpu/kernels/fast/fast_common.h"

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
KESTREL_ISA_CLONES void binary_2d(const float* a, int64_t a_os, int64_t a_is, const float* b, int64_t b_os,
                                  int64_t b_is, float* y, int64_t outer, int64_t inner, int threads) {
#pragma omp parallel for num_threads(threads) \
    schedule(static) if (threads > 1 && outer * inner > 65536 && outer > 1)
  for (int64_t o = 0; o < outer; ++o) {
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
    Shape a(r, 1), b(r, 1), out(r);
    std::copy(as.begin(), as.end(), a.begin() + static_cast<std::ptrdiff_t>(r - as.size()));
    std::copy(bs.begin(), bs.end(), b.begin() + static_cast<std::ptrdiff_t>(r - bs.size()));
    for (size_t i = 0; i < r; ++i) {
      if (a[i] != b[i] && a[i] != 1 && b[i] != 1) return reference_->compute(ctx);  // it reports the mismatch
      out[i] = a[i] == 1 ? b[i] : a[i];
    }
    const int64_t n = shape_size(out);
    // The operand with the full output shape ("big") and the other one ("small").
    const bool a_big = A.size() == n;
    if (!a_big && B.size() != n) return reference_->compute(ctx);  // both broadcast: the general loops
    const Shape& small = a_big ? b : a;
    int64_t outer = 1, inner = n, s_os = 0, s_is = 0;
    if (n == 0) {
      ctx.allocate_output(0, ElementType::kFloat, out);
      return;
    } else if (shape_size(small) == n) {  // equal shapes
      outer = 1, s_os = 0, s_is = 1;
    } else if (shape_size(small) == 1) {
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
        inner = dims_product(out, row_k, r);
        outer = n / inner;
        s_os = 0, s_is = 1;
      } else if (col) {
        outer = dims_product(out, 0, col_k);
        inner = n / outer;
        s_os = 1, s_is = 0;
      } else {
        return reference_->compute(ctx);
      }
    }
    Tensor& Y = ctx.allocate_uninitialized_output(0, ElementType::kFloat, out);  // every element is written
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
