// ConvInteger (opset 10): convolution of 8-bit tensors with zero points (x per tensor, w per tensor or per
// output channel), accumulated exactly in int32.
#include "providers/cpu/kernels/onnx/conv.h"
#include "providers/cpu/kernels/onnx/quantize.h"

namespace kestrel::cpu {
namespace {

class ConvInteger final : public Kernel {
 public:
  explicit ConvInteger(const KernelInfo& info)
      : attrs_(WindowAttrs::parse(info, false)), group_(info.attr_int("group", 1)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const Tensor& W = ctx.input(1);
    const std::span<const int64_t> kernel = check_conv_shapes(ctx, attrs_, X.shape(), W.shape(), group_, false);
    const int64_t N = X.dim(0), C = X.dim(1), M = W.dim(0);
    const std::vector<int32_t> x = widen_minus_zero_point(ctx, X, ctx.optional_input(2), -1, "x_zero_point");
    const std::vector<int32_t> w = widen_minus_zero_point(ctx, W, ctx.optional_input(3), 0, "w_zero_point");
    const Window3 g = resolve_window(ctx, attrs_, spatial_dims(X.shape()), kernel);
    Shape ys{N, M};
    for (int64_t d : g.out_dims()) ys.push_back(d);
    Tensor& Y = ctx.allocate_output(0, ElementType::kInt32, ys);
    conv_forward<int32_t>(x.data(), w.data(), nullptr, Y.data<int32_t>(), N, C, M, group_, g);
  }

 private:
  WindowAttrs attrs_;
  int64_t group_;
};

}  // namespace

KESTREL_KERNEL(ConvInteger, "", 10, 1000, "uint8, int8 -> int32", make_kernel<ConvInteger>());

}  // namespace kestrel::cpu
