// Fast DynamicQuantizeLinear (opset 11, float -> uint8): one vectorised pass for the range and one to
// quantize (quantize_simd.h), bit-identical to the reference kernel.
#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/fast/quantize_simd.h"

namespace kestrel::cpu::fast {
namespace {

class FastDynamicQuantizeLinear final : public Kernel {
 public:
  explicit FastDynamicQuantizeLinear(const KernelInfo& info) : reference_(reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    if (X.type() != ElementType::kFloat) return reference_->compute(ctx);  // it reports the type
    uint8_t* y = ctx.allocate_uninitialized_output(0, ElementType::kUInt8, X.shape()).data<uint8_t>();
    const DynamicQuantParams p = dynamic_quantize(X.data<float>(), X.size(), y, ctx.intra_op_threads());
    if (ctx.has_output(1)) *ctx.allocate_output(1, ElementType::kFloat, {}).data<float>() = p.scale;
    if (ctx.has_output(2)) *ctx.allocate_output(2, ElementType::kUInt8, {}).data<uint8_t>() = p.zero_point;
  }

 private:
  std::unique_ptr<Kernel> reference_;
};

}  // namespace
}  // namespace kestrel::cpu::fast

namespace kestrel::cpu {
KESTREL_FAST_KERNEL(DynamicQuantizeLinear, "", 11, 1000, "float -> uint8", 10,
                    make_kernel<fast::FastDynamicQuantizeLinear>());
}  // namespace kestrel::cpu
