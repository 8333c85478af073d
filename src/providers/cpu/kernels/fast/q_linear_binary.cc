// Fast ai.kestrel QLinearAdd and QLinearMul when one operand has the output's shape and the other is one
// value, runs along the output's last dim, or is one value per row of it (same shapes, NHWC [N,1,1,C] or NCHW
// [N,C,1,1] squeeze-excitation scales): the small operand is dequantized once, then blocks of the output are
// dequantized, combined and requantized in L1-resident buffers with the vectorised loops of quantize_simd.h,
// which compute exactly what the reference does. Large outputs are split over the threads; other broadcasts
// keep the reference kernel.
#include "providers/cpu/kernels/kestrel/q_linear_binary.h"

#include <omp.h>

#include <algorithm>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/fast/quantize_simd.h"

namespace kestrel::cpu {
namespace {

constexpr int64_t kBlock = 1024;

// y = float(x - zero) * scale for n elements of a uint8/int8 tensor from `at`.
void dequantize_block(const Tensor& t, int64_t at, int64_t n, int32_t zero, float scale, float* y) {
  if (t.type() == ElementType::kUInt8)
    fast::dequantize(t.data<uint8_t>() + at, n, zero, scale, y, 1);
  else
    fast::dequantize(t.data<int8_t>() + at, n, zero, scale, y, 1);
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

// b = a op b, the operands in the op's order (a one value, or n of them).
template <QLinearBinaryOp Op>
KESTREL_ISA_CLONES void combine_scalar_left(float a, float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) b[i] = apply_binary<Op>(a, b[i]);
}
template <QLinearBinaryOp Op>
KESTREL_ISA_CLONES void combine_left(const float* a, float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) b[i] = apply_binary<Op>(a[i], b[i]);
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
    const int32_t big_zero = a_big ? p.a_zero : p.b_zero, small_zero = a_big ? p.b_zero : p.a_zero;
    const float big_scale = a_big ? p.a_scale : p.b_scale, small_scale = a_big ? p.b_scale : p.a_scale;
    std::vector<float> small_values(static_cast<size_t>(small.size()));  // dequantized once
    dequantize_block(small, 0, small.size(), small_zero, small_scale, small_values.data());
    const Shape out_rows(out.begin(), out.end() - (out.empty() ? 0 : 1));
    const Shape small_rows =
        small.rank() == 0 ? Shape{} : Shape(small.shape().begin(), small.shape().end() - 1);
    const BroadcastIndex small_row(small_rows, out_rows);
    const int64_t small_step = small_runs ? row : 1;
    const int64_t blocks = (total + kBlock - 1) / kBlock;
    const int threads = total >= (int64_t{1} << 18) ? ctx.intra_op_threads() : 1;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int64_t block = 0; block < blocks; ++block) {
      alignas(64) float fbig[kBlock], fsmall[kBlock];
      const int64_t begin = block * kBlock, n = std::min(kBlock, total - begin);
      dequantize_block(big, begin, n, big_zero, big_scale, fbig);
      // The small operand's values for this block, a row segment at a time.
      for (int64_t i = 0; i < n && !whole;) {
        const int64_t o = begin + i, r = o / row, col = o % row, len = std::min(n - i, row - col);
        const float* src = small_values.data() + small_row(r) * small_step;
        if (small_runs)
          std::copy(src + col, src + col + len, fsmall + i);
        else
          std::fill(fsmall + i, fsmall + i + len, src[0]);
        i += len;
      }
      if (whole) fsmall[0] = small_values[0];
      if (a_big)
        combine<Op>(fbig, fsmall, n, whole);
      else if (whole)
        combine_scalar_left<Op>(fsmall[0], fbig, n);
      else
        combine_left<Op>(fsmall, fbig, n);
      if (p.c_type == ElementType::kUInt8)
        fast::quantize(fbig, n, p.c_scale, static_cast<float>(p.c_zero), C.data<uint8_t>() + begin, 1);
      else
        fast::quantize(fbig, n, p.c_scale, static_cast<float>(p.c_zero), C.data<int8_t>() + begin, 1);
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
