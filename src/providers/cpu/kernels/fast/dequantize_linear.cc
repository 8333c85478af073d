// Fast DequantizeLinear (opsets 10, 13+; uint8/int8 input): per-tensor parameters, or per-axis ones over
// contiguous runs of at least one vector, on the loops of quantize_simd.h. Other cases (int32 input, short
// per-axis runs, invalid parameters, which it reports) go to the reference kernel.
#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/fast/quantize_simd.h"

namespace kestrel::cpu::fast {
namespace {

class FastDequantizeLinear final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (info.has_attr("block_size")) return nullptr;  // a later opset's option
    return std::make_unique<FastDequantizeLinear>(info);
  }
  explicit FastDequantizeLinear(const KernelInfo& info)
      : reference_(reference_kernel(info)), per_axis_(info.opset() >= 13), axis_(info.attr_int("axis", 1)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const Tensor& S = ctx.input(1);
    const Tensor* Z = ctx.optional_input(2);
    if ((X.type() != ElementType::kUInt8 && X.type() != ElementType::kInt8) || S.type() != ElementType::kFloat ||
        (Z && Z->type() != X.type()))
      return reference_->compute(ctx);
    const auto runs = quantize_runs(X, S, Z, per_axis_, axis_);
    if (!runs) return reference_->compute(ctx);
    const auto [per_tensor, blocks, inner, axis_dim] = *runs;
    Tensor& Y = ctx.allocate_uninitialized_output(0, ElementType::kFloat, X.shape());  // every element written
    float* y = Y.data<float>();
    const float* s = S.data<float>();
    const int threads = ctx.intra_op_threads();
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t p = per_tensor ? 0 : b % axis_dim;
      if (X.type() == ElementType::kUInt8)
        dequantize(X.data<uint8_t>() + b * inner, inner, Z ? Z->data<uint8_t>()[p] : 0, s[p], y + b * inner,
                   threads);
      else
        dequantize(X.data<int8_t>() + b * inner, inner, Z ? Z->data<int8_t>()[p] : 0, s[p], y + b * inner,
                   threads);
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
KESTREL_FAST_KERNEL(DequantizeLinear, "", 10, 12, "uint8, int8 -> float", 10, &fast::FastDequantizeLinear::create);
KESTREL_FAST_KERNEL(DequantizeLinear, "", 13, 1000, "uint8, int8 -> float", 10,
                    &fast::FastDequantizeLinear::create);
}  // namespace kestrel::cpu
