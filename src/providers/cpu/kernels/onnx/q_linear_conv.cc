// QLinearConv (opset 10): quantized convolution. Inputs are dequantized exactly to int32 (zero points
// removed), convolved with the int32 bias, then requantized: y = saturate(round(acc * x_scale * w_scale /
// y_scale) + y_zp). w_scale and w_zero_point may be per output channel.
#include "providers/cpu/kernels/onnx/q_linear_conv.h"

#include <cstring>

#include "providers/cpu/kernels/onnx/conv.h"
#include "providers/cpu/kernels/onnx/quantize.h"

namespace kestrel::cpu {

Tensor q_linear_conv_nchw(const KernelContext& ctx, const Tensor& X, const WindowAttrs& attrs,
                          int64_t group) {
  const Tensor& W = ctx.input(3);
  const Tensor* y_zp = ctx.optional_input(7);
  const std::span<const int64_t> kernel = check_conv_shapes(ctx, attrs, X.shape(), W.shape(), group, false);
  const int64_t N = X.dim(0), C = X.dim(1), M = W.dim(0);
  const std::vector<int32_t> x = widen_minus_zero_point(ctx, X, ctx.optional_input(2), -1, "x_zero_point");
  const std::vector<int32_t> w = widen_minus_zero_point(ctx, W, ctx.optional_input(5), 0, "w_zero_point");
  const QuantParam x_scale = quant_param(ctx, &ctx.input(1), X.shape(), -1, "x_scale", 1.0f);
  const QuantParam w_scale = quant_param(ctx, &ctx.input(4), W.shape(), 0, "w_scale", 1.0f);
  const QuantParam y_scale = quant_param(ctx, &ctx.input(6), X.shape(), -1, "y_scale", 1.0f);
  const QuantParam y_zero = quant_param(ctx, y_zp, X.shape(), -1, "y_zero_point", 0.0f);
  const ElementType out_type = y_zp ? y_zp->type() : X.type();
  std::vector<int32_t> bias;
  if (const Tensor* B = ctx.optional_input(8)) {
    if (B->type() != ElementType::kInt32 || B->rank() != 1 || B->dim(0) != M)
      ctx.fail("bias B must be an int32 tensor of shape [" + std::to_string(M) + "], got " +
               element_type_name(B->type()) + " " + shape_to_string(B->shape()));
    bias.assign(B->data<int32_t>(), B->data<int32_t>() + M);
  }
  const Window3 g = resolve_window(ctx, attrs, spatial_dims(X.shape()), kernel);
  Shape ys{N, M};
  for (int64_t d : g.out_dims()) ys.push_back(d);
  std::vector<int32_t> acc(static_cast<size_t>(shape_size(ys)));
  conv_forward<int32_t>(x.data(), w.data(), bias.empty() ? nullptr : bias.data(), acc.data(), N, C, M, group,
                        g);
  Tensor Y(out_type, ys);
  const int64_t plane = g.out_size();
  dispatch<uint8_t, int8_t>(
      out_type,
      [&](auto tag) {
        using Q = decltype(tag);
        Q* y = Y.data<Q>();
        for (int64_t i = 0; i < Y.size(); ++i) {
          const int64_t m = (i / plane) % M;
          const float scale = x_scale.at(0) *
                              w_scale.values[w_scale.values.size() == 1 ? 0 : static_cast<size_t>(m)] /
                              y_scale.at(0);
          y[i] = saturate_round<Q>(static_cast<float>(acc[static_cast<size_t>(i)]) * scale + y_zero.at(0));
        }
      },
      "QLinearConv output");
  return Y;
}

namespace {

class QLinearConv final : public Kernel {
 public:
  explicit QLinearConv(const KernelInfo& info)
      : attrs_(WindowAttrs::parse(info, false)), group_(info.attr_int("group", 1)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor y = q_linear_conv_nchw(ctx, ctx.input(0), attrs_, group_);
    Tensor& Y = ctx.allocate_output(0, y.type(), y.shape());
    if (y.bytes()) std::memcpy(Y.raw_data(), y.raw_data(), y.bytes());
  }

 private:
  WindowAttrs attrs_;
  int64_t group_;
};

}  // namespace

KESTREL_KERNEL(QLinearConv, "", 10, 1000, "uint8, int8", make_kernel<QLinearConv>());

}  // namespace kestrel::cpu
