// Vectorised loops of linear (de)quantization, shared by the fast QuantizeLinear, DequantizeLinear and
// DynamicQuantizeLinear kernels and the int8 matmul kernels. Each computes exactly what the reference kernels
// (kernels/onnx/quantize.h) compute — the same float operations in the same order (x / scale, not x * 1/scale;
// round half to even; saturation, NaN to the lowest value) — with AVX-512 when the CPU has it (chosen once),
// else scalar loops. Large arrays are split into chunks over `threads` OpenMP threads.
#pragma once

#include <cstdint>
#include <optional>

#include "providers/cpu/kernels/onnx/nn_types.h"

namespace kestrel::cpu::fast {

// How QuantizeLinear's or DequantizeLinear's scale S and zero point Z run over X: `blocks` runs of `inner`
// elements, run b using parameter b % axis_dim (parameter 0 when per tensor). nullopt for the cases the fast
// loops leave to the reference kernel: per-axis parameters before opset 13 (`per_axis_allowed` false), an axis
// or parameter shape that does not fit X (the reference reports it), or runs shorter than one vector.
struct QuantizeRuns {
  bool per_tensor = true;
  int64_t blocks = 1, inner = 0, axis_dim = 1;
};
inline std::optional<QuantizeRuns> quantize_runs(const Tensor& X, const Tensor& S, const Tensor* Z,
                                                 bool per_axis_allowed, int64_t axis_attr) {
  QuantizeRuns r;
  r.inner = X.size();
  r.per_tensor = S.size() == 1 && S.rank() <= 1 && (!Z || (Z->size() == 1 && Z->rank() <= 1));
  if (r.per_tensor) return r;
  if (!per_axis_allowed || X.rank() == 0) return std::nullopt;
  const int64_t axis = axis_attr < 0 ? axis_attr + static_cast<int64_t>(X.rank()) : axis_attr;
  if (axis < 0 || axis >= static_cast<int64_t>(X.rank())) return std::nullopt;
  r.axis_dim = X.dim(static_cast<size_t>(axis));
  r.inner = dims_product(X.shape(), static_cast<size_t>(axis) + 1, X.rank());
  const bool shapes_ok =
      S.rank() == 1 && S.dim(0) == r.axis_dim && (!Z || (Z->rank() == 1 && Z->dim(0) == r.axis_dim));
  if (!shapes_ok || r.inner < 16) return std::nullopt;
  r.blocks = r.inner == 0 ? 0 : X.size() / r.inner;
  return r;
}

// Whether the CPU has the AVX-512 subsets these loops use (F, BW, VL); checked once.
bool has_avx512();

// lo = min(0, min x), hi = max(0, max x) over x[0..n), NaNs ignored (DynamicQuantizeLinear's range).
void range_with_zero(const float* x, int64_t n, float& lo, float& hi, int threads);

// y = saturate(round_half_even(x / scale) + zero_point) for a uint8 or int8 y.
void quantize(const float* x, int64_t n, float scale, float zero_point, uint8_t* y, int threads);
void quantize(const float* x, int64_t n, float scale, float zero_point, int8_t* y, int threads);

// y = float(x - zero_point) * scale.
void dequantize(const uint8_t* x, int64_t n, int32_t zero_point, float scale, float* y, int threads);
void dequantize(const int8_t* x, int64_t n, int32_t zero_point, float scale, float* y, int threads);

// Requantization of int32 sums with a scale per element of the row: y[i] = saturate(round(float(acc[i]) *
// scales[i]) + zero_point) when `round_first` (QLinearMatMul's order), else saturate(round(float(acc[i]) *
// scales[i] + zero_point)) (QLinearConv's). The two differ only in ties broken by the float addition.
void requantize(const int32_t* acc, int64_t n, const float* scales, float zero_point, bool round_first, uint8_t* y);
void requantize(const int32_t* acc, int64_t n, const float* scales, float zero_point, bool round_first, int8_t* y);

// The same with a scale and an int32 offset (added to the sum first) per element.
void requantize(const int32_t* acc, int64_t n, const int32_t* offsets, const float* scales, float zero_point,
                bool round_first, uint8_t* y);
void requantize(const int32_t* acc, int64_t n, const int32_t* offsets, const float* scales, float zero_point,
                bool round_first, int8_t* y);

// The same with one scale for all n elements and `offset` added to each sum first (in int32).
void requantize(const int32_t* acc, int64_t n, float scale, float zero_point, bool round_first, int32_t offset,
                uint8_t* y);
void requantize(const int32_t* acc, int64_t n, float scale, float zero_point, bool round_first, int32_t offset,
                int8_t* y);

// y[i] = float(acc[i] + offsets[i]) * scales[i] (+ bias[i] when bias is not null), rounded after each
// operation as the separate Mul and Add nodes it replaces would (no fused multiply-add); the int32 offsets
// (a zero point's share of the sums) are skipped when null.
void scale_and_bias(const int32_t* acc, int64_t n, const int32_t* offsets, const float* scales, const float* bias,
                    float* y);

// DynamicQuantizeLinear's parameters for the range [lo, hi] (lo <= 0 <= hi): scale = (hi - lo) / 255,
// zero_point = saturate(round(-lo / scale)); a zero range gives scale 0 and zero point 0.
struct DynamicQuantParams {
  float scale = 0;
  uint8_t zero_point = 0;
};
DynamicQuantParams dynamic_quant_params(float lo, float hi);

// DynamicQuantizeLinear of x[0..n) into y; returns its scale and zero point.
DynamicQuantParams dynamic_quantize(const float* x, int64_t n, uint8_t* y, int threads);

}  // namespace kestrel::cpu::fast
