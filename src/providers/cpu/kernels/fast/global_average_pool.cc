// Fast GlobalAveragePool (float): one vectorised sum per N x C plane, planes split over the session's
// threads.
#include <omp.h>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "runtime/inline_shape.h"

namespace kestrel::cpu {
namespace {

KESTREL_ISA_CLONES void plane_means(const float* x, float* y, int64_t planes, int64_t plane, int threads) {
  const float inv = plane > 0 ? 1.0f / static_cast<float>(plane) : NAN;  // the mean of nothing is NaN (0/0)
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && planes * plane > 65536)
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x + p * plane;
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < plane; ++i) sum += xp[i];
    y[p] = sum * inv;
  }
}

class FastGlobalAveragePool final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!fast::input_is_float(info, 0)) return nullptr;
    return std::make_unique<FastGlobalAveragePool>(info);
  }
  explicit FastGlobalAveragePool(const KernelInfo& info) : reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    if (X.type() != ElementType::kFloat || X.rank() < 2) return reference_->compute(ctx);
    const int64_t plane = dims_product(X.shape(), 2, X.rank());
    // Empty planes follow the reference's rule; ranks past InlineShape's capacity take it too.
    if (plane == 0 || X.rank() > runtime::InlineShape::kCapacity) return reference_->compute(ctx);
    runtime::InlineShape ys(X.shape());
    for (size_t i = 2; i < ys.size(); ++i) ys[i] = 1;
    Tensor& Y = ctx.allocate_uninitialized_output_dims(0, ElementType::kFloat, ys.span());  // one mean per element
    plane_means(X.data<float>(), Y.data<float>(), X.dim(0) * X.dim(1), plane, ctx.intra_op_threads());
  }

 private:
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(GlobalAveragePool, "", 1, 1000, "float", 10, &FastGlobalAveragePool::create);

}  // namespace kestrel::cpu
