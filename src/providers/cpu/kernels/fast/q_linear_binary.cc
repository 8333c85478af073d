// Fast ai.kestrel QLinearAdd and QLinearMul: the output in rows along its last dim, each operand either running
// along the row or one value for it (same shapes, NHWC [N,1,1,C] or NCHW [N,C,1,1] squeeze-excitation scales,
// one-element operands); blocks of a row are dequantized, combined and requantized in L1-resident buffers with
// the vectorised loops of quantize_simd.h, which compute exactly what the reference does. Large outputs are split
// over the threads; other broadcasts keep the reference kernel.
#include <omp.h>

#include <algorithm>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/fast/quantize_simd.h"
#include "providers/cpu/kernels/kestrel/q_linear_binary.h"

namespace kestrel::cpu {
namespace {

constexpr int64_t kBlock = 1024;

// y = float(x - zero) * scale for n elements of a uint8/int8 tensor from `at`.
void dequantize_block(const Tensor& t, int64_t at, int64_t n, int32_t zero, float scale, float* y) {
  if (t.type() == ElementType::kUInt8) fast::dequantize(t.data<uint8_t>() + at, n, zero, scale, y, 1);
  else fast::dequantize(t.data<int8_t>() + at, n, zero, scale, y, 1);
}

template <QLinearBinaryOp Op>
KESTREL_ISA_CLONES void combine(float* a, const float* b, int64_t n, bool b_scalar) {
  if (b_scalar) {
    const float v = b[0];
    for (int64_t i = 0; i < n; ++i) a[i] = apply_binary<Op>(a[i], v);
  } else {
    for (int64_t i = 0; i < n; ++i) a[i] = apply_binary<Op>(a[i], b[i]);
  }
}

// Like combine, with the scalar on the left (the op's operand order is kept for any op).
template <QLinearBinaryOp Op>
KESTREL_ISA_CLONES void combine_scalar_left(float a, float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) b[i] = apply_binary<Op>(a, b[i]);
}

template <QLinearBinaryOp Op>
class FastQLinearBinary final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) { return std::make_unique<FastQLinearBinary>(info); }
  explicit FastQLinearBinary(const KernelInfo& info) : reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const QLinearBinaryParams p = QLinearBinaryParams::read(ctx);
    const Tensor& A = ctx.input(0);
    const Tensor& B = ctx.input(3);
    const Shape out = broadcast_shapes(ctx, {&A.shape(), &B.shape()});
    // Rows: one when the shapes match or an operand has one element, else the output's last dim.
    const bool flat = A.shape() == B.shape() || A.size() == 1 || B.size() == 1;
    const int64_t total = shape_size(out);
    const int64_t row = flat ? total : (out.empty() ? 1 : out.back());
    auto runs_along = [&](const Tensor& t) {
      if (flat) return t.size() != 1 || total == 1;
      return t.rank() > 0 && t.shape().back() == row && row != 1;
    };
    const bool a_runs = runs_along(A), b_runs = runs_along(B);
    auto fits = [&](const Tensor& t, bool runs) { return flat || runs || t.rank() == 0 || t.shape().back() == 1; };
    if (!fits(A, a_runs) || !fits(B, b_runs) || (!a_runs && !b_runs && total > 1)) return reference_->compute(ctx);
    Tensor& C = ctx.allocate_uninitialized_output(0, p.c_type, out);  // every element written
    if (total == 0) return;
    const int64_t rows = total / row;
    const Shape out_rows(out.begin(), out.end() - (flat || out.empty() ? static_cast<long>(out.size()) : 1));
    auto row_shape = [&](const Tensor& t) {
      return flat || t.rank() == 0 ? Shape{} : Shape(t.shape().begin(), t.shape().end() - 1);
    };
    const BroadcastIndex a_row(row_shape(A), out_rows), b_row(row_shape(B), out_rows);
    const int64_t a_step = a_runs ? row : 1, b_step = b_runs ? row : 1;
    const int64_t blocks_per_row = (row + kBlock - 1) / kBlock;
    const int64_t tasks = rows * blocks_per_row;
    const int threads = total >= (int64_t{1} << 18) ? ctx.intra_op_threads() : 1;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int64_t task = 0; task < tasks; ++task) {
      alignas(64) float fa[kBlock], fb[kBlock];
      const int64_t r = task / blocks_per_row, begin = task % blocks_per_row * kBlock;
      const int64_t n = std::min(kBlock, row - begin);
      const int64_t a_at = (flat ? 0 : a_row(r)) * a_step + (a_runs ? begin : 0);
      const int64_t b_at = (flat ? 0 : b_row(r)) * b_step + (b_runs ? begin : 0);
      if (a_runs) {
        dequantize_block(A, a_at, n, p.a_zero, p.a_scale, fa);
        dequantize_block(B, b_at, b_runs ? n : 1, p.b_zero, p.b_scale, fb);
        combine<Op>(fa, fb, n, !b_runs);
      } else {
        dequantize_block(A, a_at, 1, p.a_zero, p.a_scale, fa);
        dequantize_block(B, b_at, n, p.b_zero, p.b_scale, fb);
        combine_scalar_left<Op>(fa[0], fb, n);
      }
      const float* result = a_runs ? fa : fb;
      const int64_t at = r * row + begin;
      if (p.c_type == ElementType::kUInt8)
        fast::quantize(result, n, p.c_scale, static_cast<float>(p.c_zero), C.data<uint8_t>() + at, 1);
      else
        fast::quantize(result, n, p.c_scale, static_cast<float>(p.c_zero), C.data<int8_t>() + at, 1);
    }
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
