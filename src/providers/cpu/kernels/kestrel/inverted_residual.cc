// InvertedResidual (ai.kestrel, v1): MobileNetV2's block as one op, on channels-last (NHWC) tensors:
//   E = expand_activation(Conv1x1(X, W1, B1))                      W1 [E, C, 1, 1]
//   D = depthwise_activation(Conv(E, W2, B2, group = E, window))   W2 [E, 1, kH, kW]
//   Y = activation(Conv1x1(D, W3, B3) + Z)                         W3 [M, E, 1, 1]
// Inputs X, W1, B1, W2, B2, W3, B3, Z (the biases and the residual Z, of Y's shape, optional); the window
// attributes (kernel_shape, strides, pads, dilations, auto_pad) are the depthwise convolution's; each
// activation is named by `<prefix>activation` / `<prefix>activation_params` (fused_activation.h). Made by the
// optimizer's fuse_inverted_residual rule; float only. This reference runs the three NCHW convolutions one
// after the other on transposed copies.
#include "providers/cpu/kernels/kestrel/channels_last.h"
#include "providers/cpu/kernels/kestrel/fused_activation.h"
#include "providers/cpu/kernels/onnx/conv.h"

namespace kestrel::cpu {
namespace {

class InvertedResidual final : public Kernel {
 public:
  explicit InvertedResidual(const KernelInfo& info)
      : attrs_(WindowAttrs::parse(info, false)),
        acts_{FusedActivation::parse(info, "expand_"), FusedActivation::parse(info, "depthwise_"),
              FusedActivation::parse(info)} {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    if (X.rank() != 4 || X.type() != ElementType::kFloat)
      ctx.fail("X must be a 4-D float tensor (NHWC), got " + std::string(element_type_name(X.type())) + " " +
               shape_to_string(X.shape()));
    Tensor x(ElementType::kFloat, permuted_shape(X.shape(), true));
    permute_4d(X, x, true);
    const WindowAttrs pointwise;
    Tensor expanded = convolve(ctx, x, 1, pointwise, 1, 0);
    const int64_t E = expanded.dim(1);
    Tensor depthwise = convolve(ctx, expanded, 3, attrs_, E, 1);
    Tensor y = convolve(ctx, depthwise, 5, pointwise, 1, 2);
    Tensor& Y = ctx.allocate_output(0, ElementType::kFloat, permuted_shape(y.shape(), false));
    permute_4d(y, Y, false);
    if (const Tensor* Z = ctx.optional_input(7)) {
      if (Z->type() != ElementType::kFloat || Z->shape() != Y.shape())
        ctx.fail("residual Z must be float of the output's shape " + shape_to_string(Y.shape()) + ", got " +
                 shape_to_string(Z->shape()));
      float* out = Y.data<float>();
      for (int64_t i = 0; i < Y.size(); ++i) out[i] += Z->data<float>()[i];
    }
    acts_[2].apply(Y.data<float>(), Y.size());
  }

 private:
  // Convolution `step` (0 expansion, 1 depthwise, 2 projection) of NCHW `x` with weights input `w_index` (its
  // bias follows it), the step's activation applied unless it is the projection (whose residual comes first).
  Tensor convolve(const KernelContext& ctx, const Tensor& x, size_t w_index, const WindowAttrs& attrs,
                  int64_t group, int step) const {
    const Tensor& W = ctx.input(w_index);
    const Tensor* B = ctx.optional_input(w_index + 1);
    if (W.type() != ElementType::kFloat || W.rank() != 4)
      ctx.fail("W" + std::to_string(step + 1) + " must be a 4-D float tensor, got " +
               shape_to_string(W.shape()));
    if (step != 1 && (W.dim(2) != 1 || W.dim(3) != 1))
      ctx.fail("W" + std::to_string(step + 1) + " must be 1x1, got " + shape_to_string(W.shape()));
    if (step == 1 && (W.dim(0) != group || W.dim(1) != 1))
      ctx.fail("W2 must be depthwise [" + std::to_string(group) + ", 1, kH, kW], got " +
               shape_to_string(W.shape()));
    const std::span<const int64_t> kernel = check_conv_shapes(ctx, attrs, x.shape(), W.shape(), group, false);
    const int64_t M = W.dim(0);
    if (B && (B->type() != ElementType::kFloat || B->rank() != 1 || B->dim(0) != M))
      ctx.fail("bias B" + std::to_string(step + 1) + " must be float with shape [" + std::to_string(M) +
               "], got " + shape_to_string(B->shape()));
    const Window3 g = resolve_window(ctx, attrs, spatial_dims(x.shape()), kernel);
    Shape ys{x.dim(0), M};
    for (int64_t d : g.out_dims()) ys.push_back(d);
    Tensor y(ElementType::kFloat, ys);
    conv_forward<float>(x.data<float>(), W.data<float>(), B ? B->data<float>() : nullptr, y.data<float>(),
                        x.dim(0), x.dim(1), M, group, g, ctx.intra_op_threads());
    if (step != 2) acts_[step].apply(y.data<float>(), y.size());
    return y;
  }

  WindowAttrs attrs_;
  FusedActivation acts_[3];  // expansion, depthwise, projection
};

}  // namespace

KESTREL_KERNEL(InvertedResidual, "ai.kestrel", 1, 1000, "float", make_kernel<InvertedResidual>());

}  // namespace kestrel::cpu
