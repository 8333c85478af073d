// The kernel behind Resize (opsets 10, 11, 13, 18, 19) and Upsample (opsets 7-9): nearest, N-linear and
// N-cubic interpolation with every coordinate transformation mode, nearest rounding mode, cubic coefficient,
// exclude_outside, extrapolation (tf_crop_and_resize), antialias, axes and keep_aspect_ratio_policy.
//
// Numerics follow the ONNX reference implementation (onnx/reference/ops/op_resize.py), which produced the
// backend test data: coordinates are computed in double from the float scales, and align_corners /
// tf_crop_and_resize divide by the unrounded output length (scale * input length). Opset 10 and Upsample use
// asymmetric coordinates with ORT's "simple" nearest rounding (floor when upsampling, ceil when
// downsampling). Linear and cubic resizing is separable, so it runs one axis at a time in double precision.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "providers/cpu/kernels/checked_math.h"
#include "providers/cpu/kernels/onnx/data_movement.h"

namespace kestrel::cpu::movement {

class ResizeKernel final : public runtime::Kernel {
 public:
  explicit ResizeKernel(const runtime::KernelInfo& info) : opset_(info.opset()) {
    upsample_ = info.op_type() == "Upsample";
    const std::string mode = info.attr_string("mode", "nearest");
    if (mode == "nearest")
      mode_ = Mode::kNearest;
    else if (mode == "linear" || (upsample_ && mode == "bilinear"))
      mode_ = Mode::kLinear;
    else if (mode == "cubic" && !legacy())
      mode_ = Mode::kCubic;
    else
      info.fail("unsupported mode '" + mode + "' (expected nearest, linear" +
                (legacy() ? ")" : " or cubic)"));

    if (legacy()) {
      // Upsample and Resize-10: asymmetric coordinates, "simple" nearest rounding.
      coord_ = Coord::kAsymmetric;
      nearest_ = Nearest::kSimple;
      if (upsample_ && opset_ < 9) {
        scales_attr_ = info.attr_floats("scales");
        for (float s : scales_attr_)
          if (!(s > 0)) info.fail("scales must be positive, got " + std::to_string(s));
      }
      return;
    }

    const std::string coord = info.attr_string("coordinate_transformation_mode", "half_pixel");
    if (coord == "half_pixel")
      coord_ = Coord::kHalfPixel;
    else if (coord == "half_pixel_symmetric" && opset_ >= 19)
      coord_ = Coord::kHalfPixelSymmetric;
    else if (coord == "pytorch_half_pixel")
      coord_ = Coord::kPytorchHalfPixel;
    else if (coord == "align_corners")
      coord_ = Coord::kAlignCorners;
    else if (coord == "asymmetric")
      coord_ = Coord::kAsymmetric;
    else if (coord == "tf_half_pixel_for_nn")  // opsets 11-12; kept for models that still use it
      coord_ = Coord::kTfHalfPixelForNn;
    else if (coord == "tf_crop_and_resize")
      coord_ = Coord::kTfCropAndResize;
    else
      info.fail("unsupported coordinate_transformation_mode '" + coord + "'");

    const std::string nearest = info.attr_string("nearest_mode", "round_prefer_floor");
    if (nearest == "round_prefer_floor")
      nearest_ = Nearest::kRoundPreferFloor;
    else if (nearest == "round_prefer_ceil")
      nearest_ = Nearest::kRoundPreferCeil;
    else if (nearest == "floor")
      nearest_ = Nearest::kFloor;
    else if (nearest == "ceil")
      nearest_ = Nearest::kCeil;
    else
      info.fail("unsupported nearest_mode '" + nearest + "'");

    cubic_a_ = info.attr_float("cubic_coeff_a", -0.75f);
    exclude_outside_ = info.attr_int("exclude_outside", 0) != 0;
    extrapolation_ = info.attr_float("extrapolation_value", 0.0f);
    if (opset_ >= 18) {
      antialias_ = info.attr_int("antialias", 0) != 0;
      axes_attr_ = info.attr_ints("axes", {});
      const std::string policy = info.attr_string("keep_aspect_ratio_policy", "stretch");
      if (policy == "stretch")
        policy_ = Policy::kStretch;
      else if (policy == "not_larger")
        policy_ = Policy::kNotLarger;
      else if (policy == "not_smaller")
        policy_ = Policy::kNotSmaller;
      else
        info.fail("unsupported keep_aspect_ratio_policy '" + policy + "'");
    }
  }

  void compute(runtime::KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    const Shape& in_shape = x.shape();

    // Axes the scales/sizes/roi refer to (all of them unless opset 18's `axes` says otherwise).
    std::vector<int64_t> axes;
    if (axes_attr_.empty()) {
      for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
    } else {
      std::vector<bool> seen(static_cast<size_t>(rank), false);
      for (int64_t a : axes_attr_) {
        const int64_t axis = normalize_axis(ctx, a, rank, "axes entry");
        if (seen[static_cast<size_t>(axis)])
          ctx.fail("axes " + shape_to_string(axes_attr_) + " repeat an axis");
        seen[static_cast<size_t>(axis)] = true;
        axes.push_back(axis);
      }
    }
    const size_t n_axes = axes.size();

    std::vector<double> scales_in;
    std::vector<int64_t> sizes_in;
    std::vector<double> roi_in;
    if (upsample_ && opset_ < 9) {
      scales_in.assign(scales_attr_.begin(), scales_attr_.end());
    } else if (legacy()) {
      scales_in = read_doubles(ctx, ctx.input(1), "input 1 'scales'");
    } else {
      if (const Tensor* roi = ctx.optional_input(1)) roi_in = read_doubles(ctx, *roi, "input 1 'roi'");
      if (const Tensor* s = ctx.optional_input(2)) scales_in = read_doubles(ctx, *s, "input 2 'scales'");
      if (const Tensor* s = ctx.optional_input(3)) sizes_in = read_ints(ctx, *s, "input 3 'sizes'");
    }

    std::vector<double> scale(static_cast<size_t>(rank), 1.0);
    Shape out_shape = in_shape;
    if (!scales_in.empty() && !sizes_in.empty()) ctx.fail("only one of 'scales' and 'sizes' may be given");
    if (!scales_in.empty()) {
      if (scales_in.size() != n_axes)
        ctx.fail("scales has " + std::to_string(scales_in.size()) + " values, expected " +
                 std::to_string(n_axes));
      for (size_t i = 0; i < n_axes; ++i) {
        const size_t axis = static_cast<size_t>(axes[i]);
        if (!(scales_in[i] > 0)) ctx.fail("scales must be positive, got " + std::to_string(scales_in[i]));
        scale[axis] = scales_in[i];
        out_shape[axis] = checked_count(
            ctx, std::floor(static_cast<double>(in_shape[axis]) * scales_in[i]), "the output size from scales");
      }
    } else if (!sizes_in.empty()) {
      if (sizes_in.size() != n_axes)
        ctx.fail("sizes has " + std::to_string(sizes_in.size()) + " values, expected " +
                 std::to_string(n_axes));
      for (size_t i = 0; i < n_axes; ++i) {
        if (sizes_in[i] < 0) ctx.fail("sizes must not be negative, got " + shape_to_string(sizes_in));
        if (in_shape[static_cast<size_t>(axes[i])] == 0 && sizes_in[i] > 0)
          ctx.fail("cannot resize axis " + std::to_string(axes[i]) + " of size 0 to " +
                   std::to_string(sizes_in[i]));
      }
      if (policy_ == Policy::kStretch) {
        for (size_t i = 0; i < n_axes; ++i) {
          const size_t axis = static_cast<size_t>(axes[i]);
          out_shape[axis] = sizes_in[i];
          if (in_shape[axis] > 0)
            scale[axis] = static_cast<double>(sizes_in[i]) / static_cast<double>(in_shape[axis]);
        }
      } else {
        // One scale for all listed axes: the smallest (not_larger) or largest (not_smaller) ratio; sizes
        // round.
        double s = policy_ == Policy::kNotLarger ? std::numeric_limits<double>::infinity() : 0.0;
        for (size_t i = 0; i < n_axes; ++i) {
          const int64_t in = in_shape[static_cast<size_t>(axes[i])];
          if (in == 0) continue;
          const double ratio = static_cast<double>(sizes_in[i]) / static_cast<double>(in);
          s = policy_ == Policy::kNotLarger ? std::min(s, ratio) : std::max(s, ratio);
        }
        if (!std::isfinite(s)) s = 1.0;
        for (size_t i = 0; i < n_axes; ++i) {
          const size_t axis = static_cast<size_t>(axes[i]);
          scale[axis] = s;
          out_shape[axis] = static_cast<int64_t>(std::floor(s * static_cast<double>(in_shape[axis]) + 0.5));
        }
      }
    } else {
      ctx.fail("needs either 'scales' or 'sizes'");
    }

    std::vector<double> roi_start(static_cast<size_t>(rank), 0.0), roi_end(static_cast<size_t>(rank), 1.0);
    if (coord_ == Coord::kTfCropAndResize && !roi_in.empty()) {
      if (roi_in.size() != 2 * n_axes)
        ctx.fail("roi has " + std::to_string(roi_in.size()) + " values, expected " +
                 std::to_string(2 * n_axes));
      for (size_t i = 0; i < n_axes; ++i) {
        roi_start[static_cast<size_t>(axes[i])] = roi_in[i];
        roi_end[static_cast<size_t>(axes[i])] = roi_in[i + n_axes];
      }
    }

    // The tap tables below have one entry per output coordinate of each axis: an output over the size limit is
    // refused before they are built, not after.
    const uint64_t max_elements = Tensor::max_tensor_bytes() / element_size(x.type());
    uint64_t elements = 1;
    for (int64_t d : out_shape) {
      if (d < 0 || static_cast<uint64_t>(d) > max_elements)
        ctx.fail("output shape " + shape_to_string(out_shape) + " exceeds the size limit of " +
                 std::to_string(Tensor::max_tensor_bytes()) + " bytes (session config entry kestrel.max_tensor_bytes)");
      elements = d == 0 ? 0 : elements;
      if (elements != 0 && static_cast<uint64_t>(d) > max_elements / elements)
        ctx.fail("output shape " + shape_to_string(out_shape) + " exceeds the size limit of " +
                 std::to_string(Tensor::max_tensor_bytes()) + " bytes (session config entry kestrel.max_tensor_bytes)");
      elements *= static_cast<uint64_t>(d);
    }

    // Per axis and output coordinate: the input taps, and whether the point falls outside
    // (tf_crop_and_resize).
    std::vector<std::vector<std::vector<Tap>>> taps(static_cast<size_t>(rank));
    std::vector<std::vector<bool>> outside(static_cast<size_t>(rank));
    std::vector<bool> identity(static_cast<size_t>(rank), true);
    bool any_outside = false;
    for (size_t d = 0; d < static_cast<size_t>(rank); ++d) {
      const int64_t in = in_shape[d], out = out_shape[d];
      taps[d].resize(static_cast<size_t>(out));
      outside[d].assign(static_cast<size_t>(out), false);
      if (in != out) identity[d] = false;
      for (int64_t o = 0; o < out; ++o) {
        const double xo = original_coordinate(o, scale[d], in, out, roi_start[d], roi_end[d]);
        if (coord_ == Coord::kTfCropAndResize && (xo < 0 || xo > static_cast<double>(in - 1))) {
          outside[d][static_cast<size_t>(o)] = true;
          any_outside = true;
        }
        std::vector<Tap>& t = taps[d][static_cast<size_t>(o)];
        t = mode_ == Mode::kNearest ? std::vector<Tap>{{nearest_index(xo, scale[d], in), 1.0}}
                                    : filter_taps(xo, scale[d], in);
        if (!(t.size() == 1 && t[0].index == o && t[0].weight == 1.0)) identity[d] = false;
      }
    }

    Tensor& y = ctx.allocate_output(0, x.type(), out_shape);
    if (y.size() == 0) return;
    if (mode_ == Mode::kNearest) {
      const std::vector<int64_t> strides = strides_of(in_shape);
      std::vector<int64_t> index(static_cast<size_t>(y.size()));
      for_each_coord(out_shape, [&](const std::vector<int64_t>& c, int64_t flat) {
        int64_t src = 0;
        for (size_t d = 0; d < c.size(); ++d) src += taps[d][static_cast<size_t>(c[d])][0].index * strides[d];
        index[static_cast<size_t>(flat)] = src;
      });
      take_elements(x, index, y);
    } else {
      interpolate(ctx, x, taps, identity, y);
    }
    if (any_outside) fill_outside(ctx, outside, y);
  }

 private:
  enum class Mode { kNearest, kLinear, kCubic };
  enum class Coord {
    kHalfPixel,
    kHalfPixelSymmetric,
    kPytorchHalfPixel,
    kAlignCorners,
    kAsymmetric,
    kTfHalfPixelForNn,
    kTfCropAndResize
  };
  enum class Nearest { kSimple, kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil };
  enum class Policy { kStretch, kNotLarger, kNotSmaller };
  struct Tap {
    int64_t index;
    double weight;
  };

  bool legacy() const { return upsample_ || opset_ < 11; }

  static std::vector<double> read_doubles(const runtime::KernelContext& ctx, const Tensor& t,
                                          const std::string& what) {
    std::vector<double> out(static_cast<size_t>(t.size()));
    dispatch<KESTREL_FLOAT_TYPES>(
        t.type(),
        [&](auto tag) {
          using T = decltype(tag);
          const T* p = t.data<T>();
          for (size_t i = 0; i < out.size(); ++i)
            out[i] = static_cast<double>(static_cast<compute_t<T>>(p[i]));
        },
        ctx.node().describe() + " " + what);
    return out;
  }

  // x_resized -> x_original. `out_f` is the unrounded output length, as in the reference implementation.
  double original_coordinate(int64_t x_resized, double scale, int64_t in, int64_t out, double roi_start,
                             double roi_end) const {
    const double x = static_cast<double>(x_resized);
    const double in_f = static_cast<double>(in);
    const double out_f = scale * in_f;
    switch (coord_) {
      case Coord::kHalfPixel:
        return (x + 0.5) / scale - 0.5;
      case Coord::kHalfPixelSymmetric: {
        const double adjustment = static_cast<double>(out) / out_f;
        const double center = in_f / 2;
        return center * (1 - adjustment) + (x + 0.5) / scale - 0.5;
      }
      case Coord::kPytorchHalfPixel:
        return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
      case Coord::kAlignCorners:
        return out_f == 1.0 ? 0.0 : x * (in_f - 1) / (out_f - 1);
      case Coord::kAsymmetric:
        return x / scale;
      case Coord::kTfHalfPixelForNn:
        return (x + 0.5) / scale;
      case Coord::kTfCropAndResize:
        if (out_f == 1.0) return (roi_end - roi_start) * (in_f - 1) / 2 + roi_start * (in_f - 1);
        return x * (roi_end - roi_start) * (in_f - 1) / (out_f - 1) + roi_start * (in_f - 1);
    }
    return 0.0;
  }

  int64_t nearest_index(double xo, double scale, int64_t in) const {
    const double f = std::floor(xo);
    const double frac = xo - f;
    double v = f;
    switch (nearest_) {
      case Nearest::kSimple:
        v = scale < 1.0 ? std::ceil(xo) : f;
        break;
      case Nearest::kRoundPreferFloor:
        v = frac <= 0.5 ? f : f + 1;
        break;
      case Nearest::kRoundPreferCeil:
        v = frac < 0.5 ? f : f + 1;
        break;
      case Nearest::kFloor:
        v = f;
        break;
      case Nearest::kCeil:
        v = std::ceil(xo);
        break;
    }
    return clamp_index(v, in);
  }

  static int64_t clamp_index(double v, int64_t in) {
    if (!(v > 0)) return 0;  // also catches NaN
    if (v >= static_cast<double>(in - 1)) return in - 1;
    return static_cast<int64_t>(v);
  }

  double cubic_weight(double t) const {
    const double a = cubic_a_;
    t = std::fabs(t);
    if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
    return 0.0;
  }

  // Taps of the linear or cubic filter around xo. With antialias and downscaling the filter is stretched by
  // 1/scale and its weights renormalised; points outside the input clamp to the edge, or with exclude_outside
  // are dropped and the rest renormalised.
  std::vector<Tap> filter_taps(double xo, double scale, int64_t in) const {
    const double s = antialias_ ? std::min(scale, 1.0) : 1.0;
    const double f = std::floor(xo);
    const double r = xo - f;
    const double support = mode_ == Mode::kLinear ? 1.0 : 2.0;
    const int64_t start = static_cast<int64_t>(std::floor(-support / s)) + 1;
    const int64_t end = 2 - start;  // exclusive; the window is symmetric about the point between f and f+1
    std::vector<Tap> raw;
    double sum = 0;
    for (int64_t i = start; i < end; ++i) {
      const double arg = (static_cast<double>(i) - r) * s;
      const double w = mode_ == Mode::kLinear ? std::max(0.0, 1.0 - std::fabs(arg)) : cubic_weight(arg);
      raw.push_back({static_cast<int64_t>(f) + i, w});
      sum += w;
    }
    if (antialias_ && sum != 0)
      for (Tap& t : raw) t.weight /= sum;
    if (exclude_outside_) {
      double kept = 0;
      for (Tap& t : raw) {
        if (t.index < 0 || t.index >= in) t.weight = 0;
        kept += t.weight;
      }
      if (kept != 0)
        for (Tap& t : raw) t.weight /= kept;
    }
    // Clamp to the edge, merge taps on the same index and drop zero weights.
    std::vector<Tap> taps;
    for (Tap t : raw) {
      if (t.weight == 0) continue;
      t.index = std::clamp<int64_t>(t.index, 0, in - 1);
      if (!taps.empty() && taps.back().index == t.index)
        taps.back().weight += t.weight;
      else
        taps.push_back(t);
    }
    if (taps.empty()) taps.push_back({std::clamp<int64_t>(static_cast<int64_t>(f), 0, in - 1), 0.0});
    return taps;
  }

  void interpolate(const runtime::KernelContext& ctx, const Tensor& x,
                   const std::vector<std::vector<std::vector<Tap>>>& taps, const std::vector<bool>& identity,
                   Tensor& y) const {
    dispatch<KESTREL_NUMERIC_TYPES>(
        x.type(),
        [&](auto tag) {
          using T = decltype(tag);
          using C = compute_t<T>;
          const T* src = x.data<T>();
          std::vector<double> cur(static_cast<size_t>(x.size()));
          for (size_t i = 0; i < cur.size(); ++i) cur[i] = static_cast<double>(static_cast<C>(src[i]));
          Shape shape = x.shape();
          for (size_t d = 0; d < shape.size(); ++d) {
            if (identity[d]) continue;
            int64_t outer = 1, inner = 1;
            for (size_t k = 0; k < d; ++k) outer *= shape[k];
            for (size_t k = d + 1; k < shape.size(); ++k) inner *= shape[k];
            const int64_t in = shape[d];
            const int64_t out = static_cast<int64_t>(taps[d].size());
            std::vector<double> next(static_cast<size_t>(outer * out * inner), 0.0);
            for (int64_t o = 0; o < outer; ++o)
              for (int64_t p = 0; p < out; ++p) {
                double* dst = next.data() + (o * out + p) * inner;
                for (const Tap& t : taps[d][static_cast<size_t>(p)]) {
                  const double* s = cur.data() + (o * in + t.index) * inner;
                  for (int64_t i = 0; i < inner; ++i) dst[i] += t.weight * s[i];
                }
              }
            cur.swap(next);
            shape[d] = out;
          }
          T* dst = y.data<T>();
          for (size_t i = 0; i < cur.size(); ++i) dst[i] = to_element<T>(cur[i]);
        },
        ctx.node().describe() + " (" + (mode_ == Mode::kLinear ? "linear" : "cubic") + " mode)");
  }

  // Integer outputs round to nearest and saturate; floats convert directly.
  template <typename T>
  static T to_element(double v) {
    using C = compute_t<T>;
    if constexpr (std::is_integral_v<C>) {
      if (std::isnan(v)) return T(0);
      v = std::round(v);
      if (v <= static_cast<double>(std::numeric_limits<C>::lowest())) return std::numeric_limits<C>::lowest();
      if (v >= static_cast<double>(std::numeric_limits<C>::max())) return std::numeric_limits<C>::max();
      return static_cast<T>(v);
    } else {
      return static_cast<T>(static_cast<C>(v));
    }
  }

  // tf_crop_and_resize: an output point outside the input on any axis takes extrapolation_value.
  void fill_outside(const runtime::KernelContext& ctx, const std::vector<std::vector<bool>>& outside,
                    Tensor& y) const {
    dispatch<KESTREL_NUMERIC_TYPES, bool>(
        y.type(),
        [&](auto tag) {
          using T = decltype(tag);
          T* dst = y.data<T>();
          const T value = to_element<T>(extrapolation_);
          for_each_coord(y.shape(), [&](const std::vector<int64_t>& c, int64_t flat) {
            for (size_t d = 0; d < c.size(); ++d)
              if (outside[d][static_cast<size_t>(c[d])]) {
                dst[flat] = value;
                return;
              }
          });
        },
        ctx.node().describe() + " extrapolation");
  }

  int opset_;
  bool upsample_ = false;
  Mode mode_ = Mode::kNearest;
  Coord coord_ = Coord::kHalfPixel;
  Nearest nearest_ = Nearest::kRoundPreferFloor;
  double cubic_a_ = -0.75;
  bool exclude_outside_ = false;
  double extrapolation_ = 0.0;
  bool antialias_ = false;
  std::vector<int64_t> axes_attr_;
  Policy policy_ = Policy::kStretch;
  std::vector<float> scales_attr_;
};

}  // namespace kestrel::cpu::movement
