// Conv (opsets 1 and 11): 1-D/2-D/3-D convolution with groups, dilations, strides, pads/auto_pad and optional
// bias; kernel_shape defaults to W's spatial shape. The loops live in conv.h.
#include "providers/cpu/kernels/onnx/conv.h"

namespace kestrel::cpu {
namespace {

class Conv final : public Kernel {
 public:
  explicit Conv(const KernelInfo& info)
      : attrs_(WindowAttrs::parse(info, false)), group_(info.attr_int("group", 1)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const Tensor& W = ctx.input(1);
    const Tensor* B = ctx.optional_input(2);
    if (W.type() != X.type())
      ctx.fail(std::string("W must have X's element type ") + element_type_name(X.type()) + ", got " +
               element_type_name(W.type()));
    const std::span<const int64_t> kernel = check_conv_shapes(ctx, attrs_, X.shape(), W.shape(), group_, false);
    const int64_t N = X.dim(0), C = X.dim(1), M = W.dim(0);
    if (B) {
      if (B->type() != X.type()) ctx.fail("bias B must have X's element type");
      if (B->rank() != 1 || B->dim(0) != M)
        ctx.fail("bias B must have shape [" + std::to_string(M) + "], got " + shape_to_string(B->shape()));
    }
    const Window3 g = resolve_window(ctx, attrs_, spatial_dims(X.shape()), kernel);
    Shape ys{N, M};
    for (int64_t d : g.out_dims()) ys.push_back(d);
    Tensor& Y = ctx.allocate_output(0, X.type(), ys);
    dispatch<float, double, Float16, BFloat16>(
        X.type(),
        [&](auto tag) {
          using T = decltype(tag);
          if constexpr (std::is_same_v<T, Acc<T>>) {
            conv_forward<T>(X.data<T>(), W.data<T>(), B ? B->data<T>() : nullptr, Y.data<T>(), N, C, M,
                            group_, g, ctx.intra_op_threads());
          } else {
            const auto x = widen(X.data<T>(), X.size());
            const auto w = widen(W.data<T>(), W.size());
            std::vector<float> b = B ? widen(B->data<T>(), B->size()) : std::vector<float>();
            std::vector<float> y(static_cast<size_t>(Y.size()));
            conv_forward<float>(x.data(), w.data(), B ? b.data() : nullptr, y.data(), N, C, M, group_, g,
                                ctx.intra_op_threads());
            T* out = Y.data<T>();
            for (size_t i = 0; i < y.size(); ++i) out[i] = narrow<T>(y[i]);
          }
        },
        "Conv");
  }

 private:
  WindowAttrs attrs_;
  int64_t group_;
};

}  // namespace

KESTREL_KERNEL(Conv, "", 1, 10, "float, double, float16, bfloat16", make_kernel<Conv>());
KESTREL_KERNEL(Conv, "", 11, 1000, "float, double, float16, bfloat16", make_kernel<Conv>());

}  // namespace kestrel::cpu
