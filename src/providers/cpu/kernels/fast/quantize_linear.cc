// Fast QuantizeLinear (opsets 10, 13+; float input, uint8/int8 output): per-tensor parameters, or per-axis
// ones over contiguous runs of at least one vector, on the loops of quantize_simd.h. Other cases (int32
// input, short per-axis runs, invalid parameters, which it reports) go to the reference kernel.
#include <string>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/fast/quantize_simd.h"
#include "providers/cpu/kernels/onnx/quantize.h"

namespace kestrel::cpu::fast {
namespace {

class FastQuantizeLinear final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (info.has_attr("block_size") || info.has_attr("saturate")) return nullptr;  // later opsets' options
    return std::make_unique<FastQuantizeLinear>(info);
  }
  explicit FastQuantizeLinear(const KernelInfo& info)
      : reference_(reference_kernel(info)), per_axis_(info.opset() >= 13), axis_(info.attr_int("axis", 1)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const Tensor& S = ctx.input(1);
    const Tensor* Z = ctx.optional_input(2);
    if (X.type() != ElementType::kFloat || S.type() != ElementType::kFloat) return reference_->compute(ctx);
    if (Z && Z->type() != ElementType::kUInt8 && Z->type() != ElementType::kInt8) return reference_->compute(ctx);
    const auto runs = quantize_runs(X, S, Z, per_axis_, axis_);
    if (!runs) return reference_->compute(ctx);
    const auto [per_tensor, blocks, inner, axis_dim] = *runs;
    const ElementType out_type = Z ? Z->type() : ElementType::kUInt8;
    Tensor& Y = ctx.allocate_uninitialized_output(0, out_type, X.shape());  // every element written
    const float* x = X.data<float>();
    const float* s = S.data<float>();
    const int threads = ctx.intra_op_threads();
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t p = per_tensor ? 0 : b % axis_dim;
      if (out_type == ElementType::kUInt8) {
        const float z = Z ? static_cast<float>(Z->data<uint8_t>()[p]) : 0.0f;
        quantize(x + b * inner, inner, s[p], z, Y.data<uint8_t>() + b * inner, threads);
      } else {
        quantize(x + b * inner, inner, s[p], static_cast<float>(Z->data<int8_t>()[p]), Y.data<int8_t>() + b * inner,
                 threads);
      }
    }
  }

 private:
  std::unique_ptr<Kernel> reference_;
  bool per_axis_;
  int64_t axis_;
};

}  // namespace
}  // namespace kestrel::cpu::fast

namespace kestrel::cpu {
KESTREL_FAST_KERNEL(QuantizeLinear, "", 10, 12, "float -> uint8, int8", 10, &fast::FastQuantizeLinear::create);
KESTREL_FAST_KERNEL(QuantizeLinear, "", 13, 1000, "float -> uint8, int8", 10, &fast::FastQuantizeLinear::create);
}  // namespace kestrel::cpu
