// The int8 2-D convolution behind the fast ConvInteger and QLinearConv kernels: u8 activations (s8 ones
// flipped to u8, their zero point moving by +128) times constant s8 weights (u8 ones shifted by -128 once)
// into exact int32 sums on oneDNN's VNNI path. The input is reordered once (oneDNN) into a zero-point-padded
// NHWC buffer (the layout oneDNN's int8 kernels read), so the convolution itself needs no padding and the
// activation zero point comes off as one constant per output channel: sum (x - zx) w = sum x w - zx sum w;
// the NHWC sums are reordered back to NCHW by oneDNN too. With `channels_last` (ai.kestrel QLinearConv, made by
// the layout_nhwc rule) X and Y are NHWC already: X is copied row by row into the padded buffer (or read in
// place when the convolution has no padding and X is uint8) and the primitive writes Y itself. Weights with a
// zero point other than 0 (after the shift) would need per-window input sums: those nodes keep the reference
// kernel, as do CPUs without AVX512-VNNI (see int8_mat_mul.h).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "providers/cpu/dnnl/dnnl_common.h"
#include "providers/cpu/kernels/onnx/conv.h"
#include "providers/cpu/kernels/onnx/nn_types.h"

namespace kestrel::cpu {

struct Int8ConvPlan {
  // run({src, dst}), requantizing ones run({src, bias, dst}); the packed weights are bound.
  dnnl_backend::Executable conv;
  dnnl_backend::Reorder src_reorder;  // NCHW X -> the inside of the padded NHWC buffer
  dnnl_backend::Reorder dst_reorder;  // NHWC sums -> NCHW
};

class Int8PackedConv {
 public:
  // nullptr when the node is not a case this path takes: weights not a constant non-empty 4-D uint8/int8
  // tensor, a weight zero point that is not a constant equal to 0 (s8) or 128 (u8) everywhere, no VNNI.
  // `w_index` and `w_zero_point_index` are the node's input slots of the weights and their zero point.
  static std::unique_ptr<Int8PackedConv> from_constants(const KernelInfo& info, size_t w_index,
                                                        size_t w_zero_point_index);
  Int8PackedConv(const KernelInfo& info, const Tensor& w);

  int64_t out_channels() const { return M_; }
  bool channels_last() const { return channels_last_; }

  // What one input shape makes of the convolution.
  struct Run {
    Shape x;                 // [N, C, H, W], whatever X's layout
    Shape out;               // [N, M, Ho, Wo], whatever Y's layout
    Shape y_shape;           // Y's shape in its layout: out, or [N, Ho, Wo, M] channels-last
    Window3 window;
    int32_t x_zero_point = 0;  // after the +128 of s8 inputs
  };
  // False when X or its zero point is not a case this path takes; the caller then runs the reference kernel,
  // which reports errors.
  bool prepare(const KernelContext& ctx, const Tensor& X, const Tensor* x_zero_point, Run& run) const;
  // y[N, M, Ho, Wo] = sum over each window of x * (w - w_zero_point), padding counted as x's zero point: the
  // exact result is y - run.x_zero_point * weight_sum(m).
  void accumulate(const KernelContext& ctx, const Tensor& X, const Run& run, int32_t* y) const;
  int32_t weight_sum(int64_t m) const { return weight_sums_[static_cast<size_t>(m)]; }
  // ai.kestrel QLinearConv's `x_table`: the convolution reads table[X] (X's storage order) instead of X, the
  // lookup done while X's rows are copied into the padded buffer. False (nothing set) when this path cannot:
  // not channels-last, no AVX-512 VBMI, not a [256] uint8/int8 table.
  bool set_input_table(const Tensor& table);
  // Fixes the requantization accumulate_quantized() applies (called once, at kernel creation: oneDNN 2.6
  // makes a convolution's scales and output zero point part of the primitive, so each run's plan lookup then
  // needs no per-channel key).
  void set_requantization(std::vector<float> scales, int32_t y_zero_point, ElementType out_type);
  bool has_requantization() const { return !scales_.empty(); }
  ElementType requantized_type() const { return out_type_; }
  // QLinearConv's requantization inside the primitive: y[N, M, Ho, Wo] (uint8/int8 out_type) =
  // saturate(round(float(sum + offsets[m]) * scales[m] + y_zero_point)), sum as in accumulate(), with the
  // parameters of set_requantization(). False, with nothing written, when oneDNN has only its reference kernel
  // for it (the caller then uses accumulate()).
  bool accumulate_quantized(const KernelContext& ctx, const Tensor& X, const Run& run, const int32_t* offsets,
                            void* y) const;

 private:
  // `quantized` false: plain int32 sums; true: requantized inside with the set_requantization() parameters
  // (null when that has no fast kernel). `in_place`: the primitive reads X itself and pads it with zeros
  // (see reads_in_place); else it reads the padded copy.
  std::shared_ptr<const Int8ConvPlan> plan(const Shape& x_shape, const Run& run, int threads, bool s8,
                                           bool quantized, bool in_place) const;
  // The zero-point-padded NHWC copy of X (scratch slot 0), for an X that is not read in place.
  const uint8_t* padded_input(const Tensor& X, const Run& run, const Int8ConvPlan& p, int threads) const;
  // Whether X is read in place: channels-last uint8 with no input table, and either no padding or a zero
  // point of 0, which is the value oneDNN pads with (uint8 activations after a Relu mostly have it).
  bool reads_in_place(const Tensor& X, const Run& run) const;
  // The type of what the convolution reads: the input table's, else X's.
  ElementType input_type(const Tensor& X) const { return table_.empty() ? X.type() : table_type_; }

  WindowAttrs attrs_;
  int64_t group_;
  bool channels_last_;
  int64_t M_ = 0;
  Shape w_shape_;
  std::vector<int8_t> weights_;       // [M, C/group, kh, kw], s8
  std::vector<int32_t> weight_sums_;  // per output channel
  dnnl::memory::dims weights_dims_;
  std::unique_ptr<dnnl_backend::PackedWeights> packed_;
  std::vector<uint8_t> table_;  // set_input_table()'s, its entries as u8 (int8 ones + 128)
  ElementType table_type_ = ElementType::kUndefined;
  std::vector<float> scales_;  // set_requantization()'s
  int32_t y_zero_point_ = 0;
  ElementType out_type_ = ElementType::kInt32;
  mutable dnnl_backend::PrimitiveCache<Shape, Int8ConvPlan, dnnl_backend::DimsLess> plans_;
};

}  // namespace kestrel::cpu
