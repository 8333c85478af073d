// Fast Softmax (opsets 1-13+, float) over contiguous rows: max, exp_fast16, one division per row, rows
// split over the session's threads. Rows that are not contiguous (opset 13 with an axis before the last dim)
// go to the reference kernel.
#include <omp.h>

#include <algorithm>

#include "providers/cpu/kernels/fast/fast_common.h"

namespace kestrel::cpu {
namespace {

// One row: the maximum, exp(x - max) with its sum, then one scale, 16 lanes at a time with a scalar tail.
KESTREL_ISA_CLONES void softmax_rows(const float* x, float* y, int64_t rows, int64_t D, int threads) {
  using fast::Vec16;
  constexpr int64_t kLanes = 16;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && rows * D > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * D;
    float* yr = y + r * D;
    const int64_t body = D - D % kLanes;
    Vec16 v, lanes = Vec16{} - INFINITY;
    for (int64_t d = 0; d < body; d += kLanes) {
      fast::load16(v, xr + d);
      lanes = v > lanes ? v : lanes;
    }
    float mx = fast::max_lanes(lanes);
    for (int64_t d = body; d < D; ++d) mx = std::max(mx, xr[d]);
    lanes = Vec16{};
    for (int64_t d = 0; d < body; d += kLanes) {
      fast::load16(v, xr + d);
      v -= mx;
      fast::exp_fast16(v);
      fast::store16(yr + d, v);
      lanes += v;
    }
    float sum = fast::sum_lanes(lanes);
    for (int64_t d = body; d < D; ++d) {
      yr[d] = fast::exp_fast(xr[d] - mx);
      sum += yr[d];
    }
    const float inv = 1.0f / sum;
    for (int64_t d = 0; d < body; d += kLanes) {
      fast::load16(v, yr + d);
      fast::store16(yr + d, v * inv);
    }
    for (int64_t d = body; d < D; ++d) yr[d] *= inv;
  }
}

class FastSoftmax final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!fast::input_is_float(info, 0)) return nullptr;
    return std::make_unique<FastSoftmax>(info);
  }

  explicit FastSoftmax(const KernelInfo& info)
      : coerce_2d_(info.opset() < 13),
        axis_(info.attr_int("axis", info.opset() < 13 ? 1 : -1)),
        reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const size_t rank = X.rank();
    if (X.type() != ElementType::kFloat || rank == 0) return reference_->compute(ctx);
    const size_t axis = static_cast<size_t>(normalize_axis(ctx, axis_, rank));
    // Before opset 13 the whole trailing block [axis, rank) is one row; from 13 only the last axis is
    // contiguous.
    if (!coerce_2d_ && axis + 1 != rank) return reference_->compute(ctx);
    const int64_t D = dims_product(X.shape(), axis, rank);
    const int64_t rows = dims_product(X.shape(), 0, axis);
    Tensor& Y = ctx.allocate_output(0, ElementType::kFloat, X.shape());
    if (D == 0 || rows == 0) return;
    softmax_rows(X.data<float>(), Y.data<float>(), rows, D, ctx.intra_op_threads());
  }

 private:
  bool coerce_2d_;
  int64_t axis_;
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(Softmax, "", 1, 10, "float", 10, &FastSoftmax::create);
KESTREL_FAST_KERNEL(Softmax, "", 11, 12, "float", 10, &FastSoftmax::create);
KESTREL_FAST_KERNEL(Softmax, "", 13, 1000, "float", 10, &FastSoftmax::create);

}  // namespace kestrel::cpu
