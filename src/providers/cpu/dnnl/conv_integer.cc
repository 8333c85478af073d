// Fast ConvInteger (opset 10) for constant 2-D weights without a weight zero point (or 128 for uint8
// weights): the int8 convolution of int8_conv.h, its sums less the activation zero point's share per channel. Other cases keep
// the reference kernel.
#include "providers/cpu/dnnl/int8_conv.h"
#include "providers/cpu/kernels/fast/fast_common.h"

namespace kestrel::cpu {
namespace {

class DnnlConvInteger final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    auto conv = Int8PackedConv::from_constants(info, 1, 3);
    if (!conv) return nullptr;
    return std::make_unique<DnnlConvInteger>(info, std::move(conv));
  }
  DnnlConvInteger(const KernelInfo& info, std::unique_ptr<Int8PackedConv> conv)
      : reference_(fast::reference_kernel(info)), conv_(std::move(conv)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    Int8PackedConv::Run run;
    if (!conv_->prepare(ctx, X, ctx.optional_input(2), run)) return reference_->compute(ctx);
    Tensor& Y = ctx.allocate_output(0, ElementType::kInt32, run.out);
    int32_t* y = Y.data<int32_t>();
    conv_->accumulate(ctx, X, run, y);
    if (run.x_zero_point == 0) return;
    const int64_t N = run.out[0], M = run.out[1], P = run.out[2] * run.out[3];
    for (int64_t n = 0; n < N; ++n)
      for (int64_t m = 0; m < M; ++m) {
        const int32_t offset = run.x_zero_point * conv_->weight_sum(m);
        int32_t* plane = y + (n * M + m) * P;
        for (int64_t i = 0; i < P; ++i) plane[i] -= offset;
      }
  }

 private:
  std::unique_ptr<Kernel> reference_;
  std::unique_ptr<Int8PackedConv> conv_;
};

}  // namespace

KESTREL_FAST_KERNEL(ConvInteger, "", 10, 1000, "uint8, int8 -> int32", 10, &DnnlConvInteger::create);

}  // namespace kestrel::cpu
