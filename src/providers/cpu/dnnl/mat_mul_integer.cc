// Fast MatMulInteger (opset 10) for a constant [K, N] B: the packed u8 x s8 product of int8_mat_mul.h with
// zero points (A per tensor or per row, B per tensor or per column) removed afterwards. A run-time B, or a
// CPU without VNNI, keeps the reference kernel.
#include "providers/cpu/dnnl/int8_mat_mul.h"
#include "providers/cpu/kernels/fast/fast_common.h"

namespace kestrel::cpu {
namespace {

class DnnlMatMulInteger final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (info.has_input(3) && !info.constant_input(3)) return nullptr;
    auto weights = Int8PackedWeights::from_constants(info.constant_input(1), info.has_input(3) ? info.constant_input(3) : nullptr);
    if (!weights) return nullptr;
    return std::make_unique<DnnlMatMulInteger>(info, std::move(weights));
  }
  DnnlMatMulInteger(const KernelInfo& info, std::unique_ptr<Int8PackedWeights> weights)
      : reference_(fast::reference_kernel(info)), weights_(std::move(weights)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& A = ctx.input(0);
    Int8Activations a;
    if (!prepare_activations(A, ctx.optional_input(2), *weights_, a)) return reference_->compute(ctx);
    Shape out = A.shape();
    out.back() = weights_->N();
    Tensor& Y = ctx.allocate_output(0, ElementType::kInt32, out);
    int32_t* y = Y.data<int32_t>();
    const int threads = dnnl_backend::threads_for(a.rows * weights_->N() * weights_->K(), ctx.intra_op_threads());
    weights_->multiply(a.data, a.rows, y, threads);
    weights_->remove_zero_points(y, a.rows, [&](int64_t r) { return a.zero_point(r); }, a.row_sums);
  }

 private:
  std::unique_ptr<Kernel> reference_;
  std::unique_ptr<Int8PackedWeights> weights_;
};

}  // namespace

KESTREL_FAST_KERNEL(MatMulInteger, "", 10, 1000, "uint8, int8 -> int32", 10, &DnnlMatMulInteger::create);

}  // namespace kestrel::cpu
