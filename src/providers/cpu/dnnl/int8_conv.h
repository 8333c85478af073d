// The int8 2-D convolution behind the fast ConvInteger and QLinearConv kernels: u8 activations (s8 ones
// flipped to u8, their zero point moving by +128) times constant s8 weights (u8 ones shifted by -128 once)
// into exact int32 sums on oneDNN's VNNI path. The input is copied once into a zero-point-padded NHWC buffer
// (the layout oneDNN's int8 kernels read), so the convolution itself needs no padding and the activation zero
// point comes off as one constant per output channel: sum (x - zx) w = sum x w - zx sum w. Weights with a
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
  dnnl::primitive conv;
  dnnl::memory::desc scratchpad, src, weights, dst;
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

  // The sums acc[N, Ho, Wo, M] (NHWC, scratch slot 2) of (x - x_zero_point) * (w - w_zero_point) over each
  // window, padding counted as x_zero_point. False (nothing computed) when X or its zero point is not a case
  // this path takes; the caller then runs the reference kernel, which reports errors.
  bool accumulate(const KernelContext& ctx, const Tensor& X, const Tensor* x_zero_point, Shape& out_shape,
                  const int32_t*& acc) const;

 private:
  std::shared_ptr<const Int8ConvPlan> plan(const Shape& padded, const Window3& g, int threads) const;

  WindowAttrs attrs_;
  int64_t group_;
  int64_t M_ = 0;
  Shape w_shape_;
  std::vector<int8_t> weights_;       // [M, C/group, kh, kw], s8
  std::vector<int32_t> weight_sums_;  // per output channel
  dnnl::memory::dims weights_dims_;
  std::unique_ptr<dnnl_backend::PackedWeights> packed_;
  mutable dnnl_backend::PrimitiveCache<Shape, Int8ConvPlan> plans_;
};

// Writes the NHWC sums acc[N, P, M] as NCHW y[N, M, P] through fn(acc value, m) -> output value.
template <typename T, typename Fn>
void nhwc_to_nchw(const int32_t* acc, int64_t N, int64_t P, int64_t M, T* y, const Fn& fn) {
  constexpr int64_t kBlock = 64;  // pixels per pass, so the block's rows of acc stay in cache
  for (int64_t n = 0; n < N; ++n)
    for (int64_t p0 = 0; p0 < P; p0 += kBlock) {
      const int64_t p1 = std::min(P, p0 + kBlock);
      for (int64_t m = 0; m < M; ++m)
        for (int64_t p = p0; p < p1; ++p) y[(n * M + m) * P + p] = fn(acc[(n * P + p) * M + m], m);
    }
}

}  // namespace kestrel::cpu
