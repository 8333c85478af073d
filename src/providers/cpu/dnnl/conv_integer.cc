// Fast ConvInteger (opset 10) for constant 2-D weights without a weight zero point (or 128 for uint8
// weights): the int8 convolution of int8_conv.h, its NHWC sums written out as NCHW int32. Other cases keep
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
    Shape out;
    const int32_t* acc = nullptr;
    if (!conv_->accumulate(ctx, ctx.input(0), ctx.optional_input(2), out, acc)) return reference_->compute(ctx);
    Tensor& Y = ctx.allocate_output(0, ElementType::kInt32, out);
    nhwc_to_nchw(acc, out[0], out[2] * out[3], out[1], Y.data<int32_t>(), [](int32_t v, int64_t) { return v; });
  }

 private:
  std::unique_ptr<Kernel> reference_;
  std::unique_ptr<Int8PackedConv> conv_;
};

}  // namespace

KESTREL_FAST_KERNEL(ConvInteger, "", 10, 1000, "uint8, int8 -> int32", 10, &DnnlConvInteger::create);

}  // namespace kestrel::cpu
