// FusedConv (ai.kestrel, v1): Y = activation(Conv(X, W, B) + Z), Conv's attributes and inputs plus an optional
// residual Z (input 3, broadcast to Y), `activation`/`activation_params` (fused_activation.h) and an affine map
// after the activation (`activation_scale`, `activation_shift`: y = act(...) * scale + shift). Made by the
// optimizer's fuse_conv_activation rule; float only. With `channels_last` = 1 (made by the layout_nhwc rule, 2-D
// only) X, Z and Y are NHWC while W stays [M, C/group, kH, kW]; this reference runs the NCHW computation on
// transposed copies.
#include "providers/cpu/kernels/kestrel/channels_last.h"
#include "providers/cpu/kernels/kestrel/fused_activation.h"
#include "providers/cpu/kernels/onnx/conv.h"

namespace kestrel::cpu {
namespace {

class FusedConv final : public Kernel {
 public:
  explicit FusedConv(const KernelInfo& info)
      : attrs_(WindowAttrs::parse(info, false)),
        group_(info.attr_int("group", 1)),
        channels_last_(info.attr_int("channels_last", 0) != 0),
        act_(FusedActivation::parse(info)),
        out_scale_(info.attr_float("activation_scale", 1.0f)),
        out_shift_(info.attr_float("activation_shift", 0.0f)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    if (!channels_last_) {
      Tensor& Y = ctx.allocate_output(0, ElementType::kFloat, output_shape(ctx, X));
      convolve(ctx, X, Y);
      finish(ctx, Y);
      return;
    }
    if (X.rank() != 4 || X.type() != ElementType::kFloat)
      ctx.fail("channels_last needs a 4-D float X, got " + std::string(element_type_name(X.type())) + " " +
               shape_to_string(X.shape()));
    Tensor x_nchw(ElementType::kFloat, permuted_shape(X.shape(), true));
    permute_4d(X, x_nchw, true);
    Tensor y_nchw(ElementType::kFloat, output_shape(ctx, x_nchw));
    convolve(ctx, x_nchw, y_nchw);
    Tensor& Y = ctx.allocate_output(0, ElementType::kFloat, permuted_shape(y_nchw.shape(), false));
    permute_4d(y_nchw, Y, false);
    finish(ctx, Y);
  }

 private:
  Shape output_shape(const KernelContext& ctx, const Tensor& X) const {
    const Tensor& W = ctx.input(1);
    const std::span<const int64_t> kernel = check_conv_shapes(ctx, attrs_, X.shape(), W.shape(), group_, false);
    const Window3 g = resolve_window(ctx, attrs_, spatial_dims(X.shape()), kernel);
    Shape ys{X.dim(0), W.dim(0)};
    for (int64_t d : g.out_dims()) ys.push_back(d);
    return ys;
  }

  // The convolution of NCHW `X` into Y (of output_shape), bias included.
  void convolve(const KernelContext& ctx, const Tensor& X, Tensor& Y) const {
    const Tensor& W = ctx.input(1);
    const Tensor* B = ctx.optional_input(2);
    const Tensor* Z = ctx.optional_input(3);
    if (X.type() != ElementType::kFloat || W.type() != ElementType::kFloat)
      ctx.fail(std::string("X and W must be float, got ") + element_type_name(X.type()) + " and " +
               element_type_name(W.type()));
    const std::span<const int64_t> kernel = check_conv_shapes(ctx, attrs_, X.shape(), W.shape(), group_, false);
    const int64_t N = X.dim(0), C = X.dim(1), M = W.dim(0);
    if (B && (B->type() != ElementType::kFloat || B->rank() != 1 || B->dim(0) != M))
      ctx.fail("bias B must be float with shape [" + std::to_string(M) + "], got " + shape_to_string(B->shape()));
    if (Z && Z->type() != ElementType::kFloat) ctx.fail("residual Z must be float");
    const Window3 g = resolve_window(ctx, attrs_, spatial_dims(X.shape()), kernel);
    conv_forward<float>(X.data<float>(), W.data<float>(), B ? B->data<float>() : nullptr, Y.data<float>(), N, C, M,
                        group_, g, ctx.intra_op_threads());
  }

  // Residual and activation, in Y's own layout (Z has the same layout).
  void finish(const KernelContext& ctx, Tensor& Y) const {
    const Tensor* Z = ctx.optional_input(3);
    float* y = Y.data<float>();
    if (Z) add_broadcast_into(ctx, y, Y.shape(), Z->data<float>(), Z->shape());
    act_.apply(y, Y.size());
    for (int64_t i = 0; i < Y.size(); ++i) y[i] = y[i] * out_scale_ + out_shift_;
  }

  WindowAttrs attrs_;
  int64_t group_;
  bool channels_last_;
  FusedActivation act_;
  float out_scale_, out_shift_;  // y = act(...) * scale + shift
};

}  // namespace

KESTREL_KERNEL(FusedConv, "ai.kestrel", 1, 1000, "float", make_kernel<FusedConv>());

}  // namespace kestrel::cpu
