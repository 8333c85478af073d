// Scale/zero-point selection and constant quantization (see quant_params.h).
#include "quantization/quant_params.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kestrel::quantization {

QuantRange quant_range(QuantType type, bool symmetric, bool reduce_range) {
  if (type == QuantType::kUInt8) return reduce_range ? QuantRange{0, 127} : QuantRange{0, 255};
  if (reduce_range) return {-64, 64};
  return symmetric ? QuantRange{-127, 127} : QuantRange{-128, 127};
}

ElementType element_type_of(QuantType type) {
  return type == QuantType::kInt8 ? ElementType::kInt8 : ElementType::kUInt8;
}

QuantParams compute_params(float rmin, float rmax, QuantType type, bool symmetric, bool reduce_range) {
  const QuantRange q = quant_range(type, symmetric, reduce_range);
  rmin = std::min(rmin, 0.0f);
  rmax = std::max(rmax, 0.0f);
  if (!std::isfinite(rmin) || !std::isfinite(rmax)) {
    rmin = std::isfinite(rmin) ? rmin : std::numeric_limits<float>::lowest() / 4;
    rmax = std::isfinite(rmax) ? rmax : std::numeric_limits<float>::max() / 4;
  }
  QuantParams p;
  if (symmetric) {
    const float absmax = std::max(-rmin, rmax);
    rmin = -absmax;
    rmax = absmax;
  }
  const double width = static_cast<double>(rmax) - static_cast<double>(rmin);
  p.scale = width > 0 ? static_cast<float>(width / (q.qmax - q.qmin)) : 1.0f;
  if (!(p.scale > 0) || !std::isfinite(p.scale)) p.scale = 1.0f;
  if (symmetric) {
    p.zero_point = static_cast<int>(std::nearbyint((q.qmin + q.qmax) / 2.0));
  } else {
    const double zp = std::nearbyint(q.qmin - rmin / static_cast<double>(p.scale));
    p.zero_point = static_cast<int>(std::clamp(zp, static_cast<double>(q.qmin), static_cast<double>(q.qmax)));
  }
  return p;
}

namespace {

template <typename Q>
void quantize_slice(const float* in, Q* out, int64_t count, int64_t stride, float scale, int zero_point,
                    int qmin, int qmax) {
  for (int64_t i = 0; i < count; ++i) {
    const double v = std::nearbyint(static_cast<double>(in[i * stride]) / scale) + zero_point;
    out[i * stride] = static_cast<Q>(std::clamp(v, static_cast<double>(qmin), static_cast<double>(qmax)));
  }
}

}  // namespace

QuantizedTensor quantize_weight(const Tensor& weight, int64_t axis, QuantType type, bool symmetric,
                                bool reduce_range) {
  if (weight.type() != ElementType::kFloat)
    throw Error(ErrorCode::kInvalidArgument, "only float weights can be quantized");
  const Shape& shape = weight.shape();
  const int64_t channels = axis < 0 ? 1 : shape.at(static_cast<size_t>(axis));
  int64_t inner = 1;
  if (axis >= 0)
    for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t outer = axis < 0 ? 1 : weight.size() / std::max<int64_t>(1, channels * inner);
  const int64_t per_channel = axis < 0 ? weight.size() : outer * inner;

  const ElementType qtype = element_type_of(type);
  QuantizedTensor result;
  result.data = Tensor(qtype, shape);
  const Shape param_shape = axis < 0 ? Shape{} : Shape{channels};
  result.scale = Tensor(ElementType::kFloat, param_shape);
  result.zero_point = Tensor(qtype, param_shape);
  const QuantRange range = quant_range(type, symmetric, reduce_range);
  const float* w = weight.data<float>();
  for (int64_t c = 0; c < channels; ++c) {
    // Slice c: elements (o, c, i) at o * channels * inner + c * inner + i.
    float lo = 0, hi = 0;
    for (int64_t o = 0; o < (axis < 0 ? 1 : outer); ++o) {
      const float* base = w + (axis < 0 ? 0 : o * channels * inner + c * inner);
      const int64_t n = axis < 0 ? per_channel : inner;
      for (int64_t i = 0; i < n; ++i) {
        lo = std::min(lo, base[i]);
        hi = std::max(hi, base[i]);
      }
    }
    const QuantParams p = compute_params(lo, hi, type, symmetric, reduce_range);
    result.scale.data<float>()[c] = p.scale;
    for (int64_t o = 0; o < (axis < 0 ? 1 : outer); ++o) {
      const int64_t offset = axis < 0 ? 0 : o * channels * inner + c * inner;
      const int64_t n = axis < 0 ? per_channel : inner;
      if (type == QuantType::kInt8)
        quantize_slice(w + offset, result.data.data<int8_t>() + offset, n, 1, p.scale, p.zero_point,
                       range.qmin, range.qmax);
      else
        quantize_slice(w + offset, result.data.data<uint8_t>() + offset, n, 1, p.scale, p.zero_point,
                       range.qmin, range.qmax);
    }
    if (type == QuantType::kInt8)
      result.zero_point.data<int8_t>()[c] = static_cast<int8_t>(p.zero_point);
    else
      result.zero_point.data<uint8_t>()[c] = static_cast<uint8_t>(p.zero_point);
  }
  return result;
}

QuantizedBias quantize_bias(const Tensor& bias, float input_scale, const Tensor& weight_scale) {
  if (bias.type() != ElementType::kFloat)
    throw Error(ErrorCode::kInvalidArgument, "only float biases can be quantized");
  QuantizedBias result;
  result.data = Tensor(ElementType::kInt32, bias.shape());
  result.scale = Tensor(ElementType::kFloat, weight_scale.shape());
  const float* ws = weight_scale.data<float>();
  for (int64_t i = 0; i < weight_scale.size(); ++i) {
    float s = input_scale * ws[i];
    if (!(s > 0))
      s = 1.0f;  // only when a weight slice is all zeros: its bias then stays exact enough at scale 1
    result.scale.data<float>()[i] = s;
  }
  const float* b = bias.data<float>();
  int32_t* out = result.data.data<int32_t>();
  for (int64_t i = 0; i < bias.size(); ++i) {
    const float s = result.scale.data<float>()[weight_scale.size() == 1 ? 0 : i];
    const double q = std::nearbyint(static_cast<double>(b[i]) / s);
    out[i] = static_cast<int32_t>(std::clamp(q, -2147483648.0, 2147483647.0));
  }
  return result;
}

}  // namespace kestrel::quantization
