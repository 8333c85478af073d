// The arithmetic of linear quantization as ONNX defines it (x = (q - zero_point) * scale): choosing a scale
// and zero point for a float range, and quantizing constant weights and biases per tensor or per channel.
#pragma once

#include <cstdint>
#include <vector>

#include "kestrel/quantization.h"
#include "kestrel/tensor.h"

namespace kestrel::quantization {

struct QuantRange {
  int qmin = 0;
  int qmax = 0;
};
// The integer range used for `type`: int8 symmetric uses [-127, 127] so that zero sits in the middle and
// -scale..scale maps onto a symmetric code range; reduce_range keeps 7 bits.
QuantRange quant_range(QuantType type, bool symmetric, bool reduce_range);

struct QuantParams {
  float scale = 1.0f;
  int zero_point = 0;
};
// Parameters for values in [rmin, rmax]. The range is widened to include 0 (zero must be exact, for padding
// and ReLU); symmetric ranges are centred on 0. A zero-width range gets scale 1.
QuantParams compute_params(float rmin, float rmax, QuantType type, bool symmetric, bool reduce_range);

ElementType element_type_of(QuantType type);

// A constant quantized along `axis` (-1: per tensor). scale/zero_point hold one entry per slice along axis.
struct QuantizedTensor {
  Tensor data;        // int8 or uint8, the shape of the input
  Tensor scale;       // float, scalar or [dim(axis)]
  Tensor zero_point;  // int8 or uint8, same shape as scale
};
QuantizedTensor quantize_weight(const Tensor& weight, int64_t axis, QuantType type, bool symmetric,
                                bool reduce_range);

// A float bias quantized to int32 with scale input_scale * weight_scale[c] and zero point 0, the form
// QLinearConv and ORT's QDQ Conv/Gemm fusions expect. Returns the int32 data and the float scale ([C] or
// scalar).
struct QuantizedBias {
  Tensor data;
  Tensor scale;
};
QuantizedBias quantize_bias(const Tensor& bias, float input_scale, const Tensor& weight_scale);

}  // namespace kestrel::quantization
