// Fast ai.kestrel FusedConv (float) for a 1x1 convolution of a single pixel: X [N, 1, 1, C] channels-last (or
// [N, C, 1, 1], the same memory), W [M, C, 1, 1], no groups, pads or residual. That is a matrix-vector
// product per image, y = act(W x + B) * scale + shift, as in the squeeze-excitation blocks of efficientnet
// and MobileNetV3 (two per block after the global pooling). oneDNN spends a fixed ~5-10 us per call on these;
// here, with at least as many outputs as input channels (the expanding FC), W is kept transposed, each input
// channel is broadcast over vectors of outputs and the block's Sigmoid or SiLU is applied in registers; with
// fewer outputs (the narrowing FC) each output is one dot product over W's contiguous row. Anything else goes
// to the next kernel (oneDNN), and a run-time shape that is not a single pixel to the reference kernel.

#include <cstring>
#include <vector>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/kestrel/fused_activation.h"
#include "providers/cpu/kernels/onnx/spatial_geometry.h"
#include "providers/cpu/kernels/parallel_ranges.h"
#include "runtime/unaligned_constants.h"

namespace kestrel::cpu {
namespace {

// y[n][m0 .. m0 + 16 * NV) = act(B + sum_c x[n][c] Wt[c][m]) * scale + shift, Wt = W transposed with its rows
// padded to whole vectors: each input channel is broadcast and multiplied into NV vectors of outputs, so no
// horizontal sums are needed; even and odd channels go to separate accumulators (two independent chains).
// Sigmoid and SiLU (the squeeze-excitation activations) are applied in registers with exp_fast16; other
// activations are applied by the caller.
template <int NV>
inline __attribute__((always_inline)) void pixel_products(const float* xn, const float* wt, const float* bias,
                                                          float* yn, int64_t C, int64_t Mp, int64_t M,
                                                          int64_t m0, FusedActivation::Kind act, float scale,
                                                          float shift) {
  fast::Vec16 even[NV], odd[NV], w;
  for (int k = 0; k < NV; ++k) {
    fast::load16(even[k], bias + m0 + 16 * k);
    odd[k] = fast::Vec16{};
  }
  int64_t c = 0;
  for (; c + 2 <= C; c += 2) {
    const float* w0 = wt + c * Mp + m0;
    for (int k = 0; k < NV; ++k) {
      fast::load16(w, w0 + 16 * k);
      even[k] += w * xn[c];
      fast::load16(w, w0 + Mp + 16 * k);
      odd[k] += w * xn[c + 1];
    }
  }
  if (c < C)
    for (int k = 0; k < NV; ++k) {
      fast::load16(w, wt + c * Mp + m0 + 16 * k);
      even[k] += w * xn[c];
    }
  for (int k = 0; k < NV; ++k) {
    fast::Vec16 v = even[k] + odd[k];
    if (act == FusedActivation::Kind::kSigmoid || act == FusedActivation::Kind::kSilu) {
      fast::Vec16 e = -v;
      fast::exp_fast16(e);
      v = act == FusedActivation::Kind::kSigmoid ? 1.0f / (1.0f + e) : v / (1.0f + e);
    }
    v = v * scale + shift;
    const int64_t m = m0 + 16 * k;
    if (m + 16 <= M) {
      fast::store16(yn + m, v);
    } else {
      float part[16];
      fast::store16(part, v);
      std::memcpy(yn + m, part, static_cast<size_t>(M - m) * sizeof(float));
    }
  }
}

// y[n][m] = B[m] + sum_c W[m][c] x[n][c] for m in [m0, m1), one dot product over W's contiguous row per
// output: the faster form when there are fewer outputs than input channels (the narrowing FC of
// squeeze-excitation).
KESTREL_ISA_CLONES void pixel_dots(const float* x, const float* w, const float* bias, float* y, int64_t C,
                                   int64_t M, int64_t n, int64_t m0, int64_t m1) {
  const float* xn = x + n * C;
  for (int64_t m = m0; m < m1; ++m) {
    const float* wm = w + m * C;
    fast::Vec16 acc0{}, acc1{}, a, b;
    int64_t c = 0;
    for (; c + 32 <= C; c += 32) {
      fast::load16(a, wm + c);
      fast::load16(b, xn + c);
      acc0 += a * b;
      fast::load16(a, wm + c + 16);
      fast::load16(b, xn + c + 16);
      acc1 += a * b;
    }
    for (; c + 16 <= C; c += 16) {
      fast::load16(a, wm + c);
      fast::load16(b, xn + c);
      acc0 += a * b;
    }
    acc0 += acc1;
    float sum = 0.0f;
    for (int k = 0; k < 16; ++k) sum += acc0[k];
    for (; c < C; ++c) sum += wm[c] * xn[c];
    y[n * M + m] = bias[m] + sum;
  }
}

// Outputs [m0, m1) of image n, in chunks of up to four vectors (m0 and m1 multiples of 64, m1 capped at M).
KESTREL_ISA_CLONES void pixel_outputs(const float* x, const float* wt, const float* bias, float* y, int64_t C,
                                      int64_t Mp, int64_t M, int64_t n, int64_t m0, int64_t m1,
                                      FusedActivation::Kind act, float scale, float shift) {
  const float* xn = x + n * C;
  float* yn = y + n * M;
  for (int64_t m = m0; m < m1; m += 64) {
    switch (std::min<int64_t>(4, (m1 - m + 15) / 16)) {
      case 4:
        pixel_products<4>(xn, wt, bias, yn, C, Mp, M, m, act, scale, shift);
        break;
      case 3:
        pixel_products<3>(xn, wt, bias, yn, C, Mp, M, m, act, scale, shift);
        break;
      case 2:
        pixel_products<2>(xn, wt, bias, yn, C, Mp, M, m, act, scale, shift);
        break;
      default:
        pixel_products<1>(xn, wt, bias, yn, C, Mp, M, m, act, scale, shift);
        break;
    }
  }
}

class SinglePixelFusedConv final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!fast::input_is_float(info, 0) || info.has_input(3)) return nullptr;
    if (info.precision() != runtime::Precision::kFp32) return nullptr;  // bf16 runs Conv in oneDNN
    // W's type and shape only, until the node is taken: the aligned copy of an unaligned W that
    // constant_input makes would be thrown away by the oneDNN kernel, which packs the view.
    const Tensor* w = runtime::constant_input_view(info, 1);
    if (!w || w->type() != ElementType::kFloat || w->rank() != 4 || w->dim(2) != 1 || w->dim(3) != 1 ||
        w->size() == 0)
      return nullptr;
    const Tensor* b = info.has_input(2) ? info.constant_input(2) : nullptr;
    if (info.has_input(2) &&
        (!b || b->type() != ElementType::kFloat || b->rank() != 1 || b->dim(0) != w->dim(0)))
      return nullptr;
    if (info.attr_int("group", 1) != 1) return nullptr;
    const std::string auto_pad = info.attr_string("auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "VALID") return nullptr;
    for (int64_t p : info.attr_ints("pads", {}))
      if (p != 0) return nullptr;
    const std::vector<int64_t> kernel = info.attr_ints("kernel_shape", {1, 1});
    if (kernel != std::vector<int64_t>{1, 1}) return nullptr;
    // The declared input must be one pixel of C channels (the batch may vary).
    const TypeInfo& xt = info.input_type(0);
    if (!xt.shape || xt.shape->size() != 4) return nullptr;
    const bool channels_last = info.attr_int("channels_last", 0) != 0;
    const std::vector<Dim>& s = *xt.shape;
    const Dim& c = channels_last ? s[3] : s[1];
    const Dim& h = channels_last ? s[1] : s[2];
    const Dim& wd = channels_last ? s[2] : s[3];
    if (!c.fixed() || c.value != w->dim(1) || !h.fixed() || h.value != 1 || !wd.fixed() || wd.value != 1)
      return nullptr;
    return std::make_unique<SinglePixelFusedConv>(info, *info.constant_input(1), b, channels_last);
  }

  SinglePixelFusedConv(const KernelInfo& info, const Tensor& w, const Tensor* b, bool channels_last)
      : channels_last_(channels_last),
        act_(FusedActivation::parse(info)),
        out_scale_(info.attr_float("activation_scale", 1.0f)),
        out_shift_(info.attr_float("activation_shift", 0.0f)),
        C_(w.dim(1)),
        M_(w.dim(0)),
        Mp_((w.dim(0) + 15) / 16 * 16),
        reference_(fast::reference_kernel(info)) {
    // At least as many outputs as input channels: W transposed to [C, Mp] (zero columns past M); else W as it
    // is, [M, C]. The bias padded to Mp either way.
    transposed_ = M_ >= C_;
    const float* src = w.data<float>();
    if (transposed_) {
      weights_.assign(static_cast<size_t>(C_ * Mp_), 0.0f);
      for (int64_t m = 0; m < M_; ++m)
        for (int64_t c = 0; c < C_; ++c) weights_[c * Mp_ + m] = src[m * C_ + c];
    } else {
      weights_.assign(src, src + M_ * C_);
    }
    bias_.assign(static_cast<size_t>(Mp_), 0.0f);
    if (b) std::memcpy(bias_.data(), b->data<float>(), static_cast<size_t>(M_) * sizeof(float));
    in_registers_ = transposed_ && (act_.kind == FusedActivation::Kind::kNone ||
                                    act_.kind == FusedActivation::Kind::kSigmoid ||
                                    act_.kind == FusedActivation::Kind::kSilu);
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const int64_t C = C_, M = M_;
    const bool pixel = X.type() == ElementType::kFloat && X.rank() == 4 &&
                       (channels_last_ ? X.dim(1) == 1 && X.dim(2) == 1 && X.dim(3) == C
                                       : X.dim(1) == C && X.dim(2) == 1 && X.dim(3) == 1);
    if (!pixel) return reference_->compute(ctx);  // which also reports bad inputs
    const int64_t N = X.dim(0);
    const int64_t out[4] = {N, channels_last_ ? 1 : M, 1, channels_last_ ? M : 1};
    Tensor& Y = ctx.allocate_uninitialized_output_dims(0, ElementType::kFloat, out);  // every element written
    if (Y.size() == 0) return;
    const float* x = X.data<float>();
    float* y = Y.data<float>();
    const int threads = ctx.intra_op_threads();
    const int64_t chunks = (M + 63) / 64;
    // The activation runs in registers (with scale and shift) for none, Sigmoid and SiLU, else afterwards.
    const FusedActivation::Kind act = in_registers_ ? act_.kind : FusedActivation::Kind::kNone;
    const float scale = in_registers_ ? out_scale_ : 1.0f, shift = in_registers_ ? out_shift_ : 0.0f;
    // Only products of a million multiply-adds or more are worth a fork.
    parallel_ranges(N * chunks, threads, N * M * C >= (int64_t{1} << 20), [&](int64_t begin, int64_t end) {
      for (int64_t task = begin; task < end; ++task) {
        const int64_t n = task / chunks, m0 = task % chunks * 64;
        if (transposed_)
          pixel_outputs(x, weights_.data(), bias_.data(), y, C, Mp_, M, n, m0, std::min(M, m0 + 64), act,
                        scale, shift);
        else
          pixel_dots(x, weights_.data(), bias_.data(), y, C, M, n, m0, std::min(M, m0 + 64));
      }
    });
    if (in_registers_) return;
    act_.apply(y, Y.size());
    if (out_scale_ != 1.0f || out_shift_ != 0.0f)
      for (int64_t i = 0; i < Y.size(); ++i) y[i] = y[i] * out_scale_ + out_shift_;
  }

 private:
  bool channels_last_;
  FusedActivation act_;
  float out_scale_, out_shift_;
  int64_t C_, M_, Mp_;                 // input channels, outputs, outputs padded to whole vectors
  bool transposed_ = false;            // weights_ holds W transposed to [C, Mp], else W as [M, C]
  std::vector<float> weights_, bias_;  // bias_: B padded to Mp
  bool in_registers_ = false;          // activation, scale and shift applied by pixel_products
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

// Above the oneDNN FusedConv (priority 10), which takes every node this one declines.
KESTREL_FAST_KERNEL(FusedConv, "ai.kestrel", 1, 1000, "float", 11, &SinglePixelFusedConv::create);

}  // namespace kestrel::cpu
