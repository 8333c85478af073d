// QLinearConvTranspose (ai.kestrel, v1), made by the fuse_qdq_conv_transpose rule from the QDQ form of a
// ConvTranspose whose stride equals its kernel: inputs X (uint8/int8, [N, C, H, W], or [N, H, W, C] with
// `channels_last` = 1), x_scale, x_zero_point, W (constant uint8/int8 [C, M, kh, kw]), w_scale and
// w_zero_point (one value, or M: per output channel), y_scale, y_zero_point (Y's type), B (optional int32
// [M]). Every input pixel owns its kh x kw block of the output:
//   acc = B[m] + the exact integer sum over c of (X[n, c, h, w] - x_zero_point) (W[c, m, i, j] -
//   w_zero_point[m]) Y[n, m, h kh + i, w kw + j] = saturate(round_half_even(float(acc) * scale[m] +
//   y_zero_point)), scale[m] = x_scale * w_scale[m] / y_scale
// each float operation rounded in that order (QLinearConv's requantization). Y is [N, M, H kh, W kw] ([N, H
// kh, W kw, M] channels-last).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "providers/cpu/kernels/kestrel/quantized_scalars.h"
#include "providers/cpu/kernels/onnx/nn_types.h"
#include "providers/cpu/kernels/onnx/quantize.h"

namespace kestrel::cpu {

struct QLinearConvTransposeParams {
  int64_t N = 0, C = 0, H = 0, W = 0, M = 0, kh = 0, kw = 0;
  int32_t x_zero = 0, y_zero = 0;
  ElementType y_type = ElementType::kUInt8;
  std::vector<int32_t> w_zero;  // per output channel
  std::vector<float> scale;     // per output channel: x_scale * w_scale[m] / y_scale
  const int32_t* bias = nullptr;
  Shape y_shape;

  // Checks the inputs (failing with a message naming the node) and reads the parameters.
  static QLinearConvTransposeParams read(const KernelContext& ctx, bool channels_last) {
    const Tensor& X = ctx.input(0);
    const Tensor& Wt = ctx.input(3);
    if (!is_byte_type(X.type()))
      ctx.fail("X must be uint8 or int8, got " + std::string(element_type_name(X.type())));
    if (!is_byte_type(Wt.type()))
      ctx.fail("W must be uint8 or int8, got " + std::string(element_type_name(Wt.type())));
    if (X.rank() != 4 || Wt.rank() != 4)
      ctx.fail("X and W must have rank 4, got " + shape_to_string(X.shape()) + " and " +
               shape_to_string(Wt.shape()));
    QLinearConvTransposeParams p;
    p.N = X.dim(0);
    p.C = X.dim(channels_last ? 3 : 1);
    p.H = X.dim(channels_last ? 1 : 2);
    p.W = X.dim(channels_last ? 2 : 3);
    p.M = Wt.dim(1);
    p.kh = Wt.dim(2);
    p.kw = Wt.dim(3);
    if (Wt.dim(0) != p.C)
      ctx.fail("W " + shape_to_string(Wt.shape()) + " does not match X's " + std::to_string(p.C) +
               " channels");
    const float x_scale = scalar_scale(ctx, 1, "x_scale");
    const float y_scale = scalar_scale(ctx, 6, "y_scale");
    p.x_zero = scalar_zero_point(ctx, 2, X.type(), "x_zero_point");
    const Tensor* y_zp = ctx.optional_input(7);
    p.y_type = y_zp ? y_zp->type() : X.type();
    if (!is_byte_type(p.y_type)) ctx.fail("y_zero_point must be uint8 or int8");
    p.y_zero = scalar_zero_point(ctx, 7, p.y_type, "y_zero_point");
    const Tensor& ws = ctx.input(4);
    const Tensor* wz = ctx.optional_input(5);
    const bool ws_ok =
        ws.type() == ElementType::kFloat && (ws.size() == 1 || (ws.rank() == 1 && ws.dim(0) == p.M));
    if (!ws_ok)
      ctx.fail("w_scale must be one float or " + std::to_string(p.M) + ", got " +
               shape_to_string(ws.shape()));
    if (wz && (wz->type() != Wt.type() || !(wz->size() == 1 || (wz->rank() == 1 && wz->dim(0) == p.M))))
      ctx.fail("w_zero_point must be one " + std::string(element_type_name(Wt.type())) + " value or " +
               std::to_string(p.M) + ", got " + shape_to_string(wz->shape()));
    for (int64_t m = 0; m < p.M; ++m) {
      p.scale.push_back(x_scale * ws.data<float>()[ws.size() == 1 ? 0 : m] / y_scale);
      const int64_t zi = wz && wz->size() > 1 ? m : 0;
      p.w_zero.push_back(!wz                                ? 0
                         : Wt.type() == ElementType::kUInt8 ? wz->data<uint8_t>()[zi]
                                                            : wz->data<int8_t>()[zi]);
    }
    if (const Tensor* B = ctx.optional_input(8)) {
      if (B->type() != ElementType::kInt32 || B->rank() != 1 || B->dim(0) != p.M)
        ctx.fail("B must be int32 [" + std::to_string(p.M) + "], got " + element_type_name(B->type()) + " " +
                 shape_to_string(B->shape()));
      p.bias = B->data<int32_t>();
    }
    p.y_shape =
        channels_last ? Shape{p.N, p.H * p.kh, p.W * p.kw, p.M} : Shape{p.N, p.M, p.H * p.kh, p.W * p.kw};
    return p;
  }

  // Y's value for one output channel's exact sum (bias included).
  template <typename Q>
  Q requantize(int32_t acc, int64_t m) const {
    return saturate_round<Q>(static_cast<float>(acc) * scale[static_cast<size_t>(m)] +
                             static_cast<float>(y_zero));
  }
};

}  // namespace kestrel::cpu
