// Window geometry shared by Conv, ConvTranspose, ConvInteger, QLinearConv and the pooling ops: parsing of
// kernel_shape/strides/pads/dilations/auto_pad, output sizes, and a canonical 3-D form (1-D and 2-D problems
// get leading size-1 spatial dims) so that every kernel is written once as three nested loops.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "providers/cpu/kernels/onnx/nn_types.h"

namespace kestrel::cpu {

struct WindowAttrs {
  std::vector<int64_t> kernel_shape;  // empty: take it from the weights (Conv family only)
  std::vector<int64_t> strides, pads, dilations;
  std::string auto_pad = "NOTSET";
  bool ceil_mode = false;

  static WindowAttrs parse(const KernelInfo& info, bool kernel_required) {
    WindowAttrs a;
    if (kernel_required || info.has_attr("kernel_shape")) a.kernel_shape = info.attr_ints("kernel_shape");
    a.strides = info.attr_ints("strides", {});
    a.pads = info.attr_ints("pads", {});
    a.dilations = info.attr_ints("dilations", {});
    a.auto_pad = info.attr_string("auto_pad", "NOTSET");
    a.ceil_mode = info.attr_int("ceil_mode", 0) != 0;
    if (a.auto_pad != "NOTSET" && a.auto_pad != "SAME_UPPER" && a.auto_pad != "SAME_LOWER" &&
        a.auto_pad != "VALID")
      info.fail("auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got '" + a.auto_pad + "'");
    for (int64_t k : a.kernel_shape)
      if (k <= 0) info.fail("kernel_shape must be positive, got " + shape_to_string(a.kernel_shape));
    for (int64_t s : a.strides)
      if (s <= 0) info.fail("strides must be positive, got " + shape_to_string(a.strides));
    for (int64_t d : a.dilations)
      if (d <= 0) info.fail("dilations must be positive, got " + shape_to_string(a.dilations));
    for (int64_t p : a.pads)
      if (p < 0) info.fail("pads must be non-negative, got " + shape_to_string(a.pads));
    return a;
  }
};

// A resolved window problem in canonical 3-D form: index 0 is depth, 1 height, 2 width.
struct Window3 {
  size_t spatial_rank = 0;  // the real number of spatial dims (1, 2 or 3)
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, kernel[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1}, dilation[3] = {1, 1, 1}, pad_begin[3] = {0, 0, 0}, pad_end[3] = {0, 0, 0};

  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
  // The real (non-canonical) output spatial dims.
  std::span<const int64_t> out_dims() const { return {out + 3 - spatial_rank, spatial_rank}; }
};

// Resolves a forward window (Conv, pooling) over `in_spatial` with the given kernel. Output size per dim,
// from the ONNX Conv/Pool specs: explicit pads: floor((in + pb + pe - dk) / s) + 1 (ceil with ceil_mode);
// VALID: no pads; SAME_*: out = ceil(in / s) and the total padding (out - 1) * s + dk - in split evenly, the
// odd one at the end for SAME_UPPER and at the beginning for SAME_LOWER.
template <typename Who>
Window3 resolve_window(const Who& who, const WindowAttrs& a, std::span<const int64_t> in_spatial,
                       std::span<const int64_t> kernel) {
  const size_t nd = in_spatial.size();
  if (nd < 1 || nd > 3)
    who.fail("only 1, 2 or 3 spatial dimensions are supported, got " + std::to_string(nd));
  if (kernel.size() != nd)
    who.fail("kernel_shape " + shape_to_string(Shape(kernel.begin(), kernel.end())) + " does not match " + std::to_string(nd) +
             " spatial dimensions");
  auto check_len = [&](const std::vector<int64_t>& v, size_t want, const char* name) {
    if (!v.empty() && v.size() != want)
      who.fail(std::string(name) + " has " + std::to_string(v.size()) + " values, expected " +
               std::to_string(want));
  };
  check_len(a.strides, nd, "strides");
  check_len(a.dilations, nd, "dilations");
  check_len(a.pads, 2 * nd, "pads");
  Window3 w;
  w.spatial_rank = nd;
  const size_t off = 3 - nd;
  for (size_t i = 0; i < nd; ++i) {
    const size_t j = off + i;
    w.in[j] = in_spatial[i];
    w.kernel[j] = kernel[i];
    w.stride[j] = a.strides.empty() ? 1 : a.strides[i];
    w.dilation[j] = a.dilations.empty() ? 1 : a.dilations[i];
    const int64_t dk = (w.kernel[j] - 1) * w.dilation[j] + 1;
    const int64_t s = w.stride[j];
    if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
      w.out[j] = (w.in[j] + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (w.out[j] - 1) * s + dk - w.in[j]);
      const int64_t small = total / 2, large = total - small;
      w.pad_begin[j] = a.auto_pad == "SAME_UPPER" ? small : large;
      w.pad_end[j] = a.auto_pad == "SAME_UPPER" ? large : small;
    } else {
      if (a.auto_pad == "NOTSET" && !a.pads.empty()) {
        w.pad_begin[j] = a.pads[i];
        w.pad_end[j] = a.pads[i + nd];
      }
      const int64_t span = w.in[j] + w.pad_begin[j] + w.pad_end[j] - dk;
      if (span < 0)
        who.fail("the window (kernel " + std::to_string(w.kernel[j]) + ", dilation " +
                 std::to_string(w.dilation[j]) + ") is larger than the padded input (" +
                 std::to_string(w.in[j] + w.pad_begin[j] + w.pad_end[j]) + ") in spatial dim " +
                 std::to_string(i));
      if (a.ceil_mode && a.auto_pad == "NOTSET") {
        w.out[j] = (span + s - 1) / s + 1;
        // The last window must start inside the input or its leading padding (as PyTorch and ORT do).
        if ((w.out[j] - 1) * s >= w.in[j] + w.pad_begin[j]) --w.out[j];
      } else {
        w.out[j] = span / s + 1;
      }
    }
  }
  return w;
}

// Spatial dims of an N x C x D1 x ... tensor (a view of `s`).
inline std::span<const int64_t> spatial_dims(std::span<const int64_t> s) {
  return s.size() < 2 ? std::span<const int64_t>() : s.subspan(2);
}

// Taps k in [0, kernel) whose input position o * stride - pad + k * dilation lies in [0, in): [first, last).
inline void valid_taps(int64_t o, int64_t stride, int64_t pad, int64_t dilation, int64_t kernel, int64_t in,
                       int64_t& first, int64_t& last) {
  const int64_t start = o * stride - pad;
  first = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
  last = in - start <= 0 ? 0 : std::min(kernel, (in - start + dilation - 1) / dilation);
  if (last < first) last = first;
}

}  // namespace kestrel::cpu
