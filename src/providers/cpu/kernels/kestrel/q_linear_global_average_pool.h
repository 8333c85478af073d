// QLinearGlobalAveragePool (ai.kestrel, v1), made by the fuse_qdq_global_average_pool rule from
// DequantizeLinear -> GlobalAveragePool -> QuantizeLinear: inputs X (uint8/int8, [N, C, spatial...], or
// [N, spatial..., C] with `channels_last` = 1), x_scale, x_zero_point, y_scale, y_zero_point (optional; Y's
// type is its type, else X's), each one value. Per image and channel, over the S spatial positions:
//   sum = the exact integer sum of (x - x_zero_point)
//   Y = saturate(round_half_even((float(sum) * x_scale / float(S)) / y_scale) + y_zero_point)
// each float operation rounded in that order. Y is [N, C, 1...] ([N, 1..., C] channels-last). This is the QDQ
// computation with the float sum of the dequantized values replaced by the exact one, so outputs may differ
// from the float graph's by one step where it rounds near a tie.
#pragma once

#include <cmath>
#include <string>

#include "providers/cpu/kernels/kestrel/quantized_scalars.h"
#include "providers/cpu/kernels/onnx/nn_types.h"
#include "providers/cpu/kernels/onnx/quantize.h"

namespace kestrel::cpu {

struct QLinearPoolParams {
  float x_scale = 1, y_scale = 1;
  int32_t x_zero = 0, y_zero = 0;
  ElementType y_type = ElementType::kUInt8;
  int64_t batch = 0, channels = 0, positions = 0;  // S: the product of the spatial dims
  Shape y_shape;

  // Checks the inputs (failing with a message naming the node) and reads the parameters.
  static QLinearPoolParams read(const KernelContext& ctx, bool channels_last) {
    const Tensor& X = ctx.input(0);
    if (!is_byte_type(X.type()))
      ctx.fail("X must be uint8 or int8, got " + std::string(element_type_name(X.type())));
    if (X.rank() < 3) ctx.fail("X must have rank 3 or more, got " + shape_to_string(X.shape()));
    QLinearPoolParams p;
    p.x_scale = scalar_scale(ctx, 1, "x_scale");
    p.y_scale = scalar_scale(ctx, 3, "y_scale");
    p.x_zero = scalar_zero_point(ctx, 2, X.type(), "x_zero_point");
    const Tensor* y_zp = ctx.optional_input(4);
    p.y_type = y_zp ? y_zp->type() : X.type();
    if (!is_byte_type(p.y_type)) ctx.fail("y_zero_point must be uint8 or int8");
    p.y_zero = scalar_zero_point(ctx, 4, p.y_type, "y_zero_point");
    const size_t r = X.rank(), c_axis = channels_last ? r - 1 : 1;
    p.batch = X.dim(0);
    p.channels = X.dim(c_axis);
    p.positions = 1;
    p.y_shape = Shape(r, 1);
    p.y_shape[0] = p.batch;
    p.y_shape[c_axis] = p.channels;
    for (size_t i = 1; i < r; ++i)
      if (i != c_axis) p.positions *= X.dim(i);
    if (p.positions == 0 && p.batch * p.channels > 0) ctx.fail("X has no spatial positions to average");
    return p;
  }

  // Y's value for one channel's exact sum.
  template <typename Q>
  Q requantize(int64_t sum) const {
    const float mean = static_cast<float>(sum) * x_scale / static_cast<float>(positions);
    return saturate_round<Q>(std::nearbyint(mean / y_scale) + static_cast<float>(y_zero));
  }
};

}  // namespace kestrel::cpu
