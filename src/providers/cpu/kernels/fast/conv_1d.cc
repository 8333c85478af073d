// Fast 1-D Conv (float, constant W) for the two cases where oneDNN 2.6 pays more in overhead than the work:
//  - depthwise (group = input channels = output channels): each channel's row slid over its own few taps.
//    oneDNN runs this through its gemm fallback (44 µs for silero_vad's 258 channels x 8 samples x 5 taps,
//    about 2 µs here);
//  - small dense convolutions (group 1, few weights, short outputs), as in small audio models: per output
//    sample, its window times Wᵀ packed for the vector width, without oneDNN's reorders to and from its
//    blocked layout around every node (2-5 µs each on silero_vad's 1x1 convs).
// Larger dense runs go to the next kernel (oneDNN), made at session creation beside this one. Other Conv
// nodes are declined at session creation.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/onnx/conv.h"
#include "runtime/unaligned_constants.h"

namespace kestrel::cpu {
namespace {

// Splits the channels between threads only when there is enough work to pay for waking them.
constexpr int64_t kParallelMacs = 1 << 17;

// y[o] = bias + Σ_k w[k] · x[o · stride - pad + k · dilation] over the taps that land inside x. Each output
// sums its taps in a register (accumulating in y through memory chains every tap on a store-to-load delay);
// TAPS > 0 fixes the tap count at compile time, so the interior loop has no inner loop.
template <int TAPS>
inline __attribute__((always_inline)) void convolve_row_taps(const float* x, int64_t in, const float* w,
                                                             int64_t taps, float bias, float* y, int64_t out,
                                                             int64_t stride, int64_t dilation, int64_t pad) {
  if constexpr (TAPS > 0) taps = TAPS;
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * stride - pad;
    float acc = bias;
    if (start >= 0 && start + (taps - 1) * dilation < in) {
      const float* xs = x + start;
#pragma GCC unroll 8
      for (int64_t k = 0; k < taps; ++k) acc += w[k] * xs[k * dilation];
    } else {
      for (int64_t k = 0; k < taps; ++k) {
        const int64_t i = start + k * dilation;
        if (i >= 0 && i < in) acc += w[k] * x[i];
      }
    }
    y[o] = acc;
  }
}

KESTREL_ISA_CLONES void convolve_row(const float* x, int64_t in, const float* w, int64_t taps, float bias,
                                     float* y, int64_t out, int64_t stride, int64_t dilation, int64_t pad) {
  switch (taps) {
    case 3:
      return convolve_row_taps<3>(x, in, w, taps, bias, y, out, stride, dilation, pad);
    case 5:
      return convolve_row_taps<5>(x, in, w, taps, bias, y, out, stride, dilation, pad);
    case 7:
      return convolve_row_taps<7>(x, in, w, taps, bias, y, out, stride, dilation, pad);
    default:
      return convolve_row_taps<0>(x, in, w, taps, bias, y, out, stride, dilation, pad);
  }
}

class DepthwiseConv1d final : public Kernel {
 public:
  explicit DepthwiseConv1d(const KernelInfo& info)
      : attrs_(WindowAttrs::parse(info, false)),
        group_(info.attr_int("group", 1)),
        reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const Tensor& W = ctx.input(1);
    const Tensor* B = ctx.optional_input(2);
    // Anything else (including bad input, which the reference reports) runs on the reference kernel.
    if (X.type() != ElementType::kFloat || X.rank() != 3 || X.dim(1) != group_ ||
        W.shape() != Shape{group_, 1, W.dim(2)} ||
        (B && (B->type() != ElementType::kFloat || B->shape() != Shape{group_})))
      return reference_->compute(ctx);
    const std::span<const int64_t> kernel = check_conv_shapes(ctx, attrs_, X.shape(), W.shape(), group_, false);
    const Window3 g = resolve_window(ctx, attrs_, spatial_dims(X.shape()), kernel);
    const int64_t N = X.dim(0), C = group_, in = g.in[2], out = g.out[2], taps = g.kernel[2];
    Tensor& Y = ctx.allocate_uninitialized_output(0, ElementType::kFloat, {N, C, out});
    const float* x = X.data<float>();
    const float* w = W.data<float>();
    const float* b = B ? B->data<float>() : nullptr;
    float* y = Y.data<float>();
    const int64_t rows = N * C;
    const int threads = ctx.intra_op_threads();
#pragma omp parallel for num_threads(threads) \
    schedule(static) if (threads > 1 && rows * out * taps > kParallelMacs)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t c = r % C;
      convolve_row(x + r * in, in, w + c * taps, taps, b ? b[c] : 0.0f, y + r * out, out, g.stride[2],
                   g.dilation[2], g.pad_begin[2]);
    }
  }

 private:
  WindowAttrs attrs_;
  int64_t group_;
  std::unique_ptr<Kernel> reference_;
};

using fast::load16;
using fast::store16;
using fast::Vec16;

// Dense 1-D Conv whose weights fit this many floats (512 KB), and whose runs take at most this many
// multiply-adds, run here; longer runs go to oneDNN.
constexpr int64_t kSmallWeights = 1 << 17;
constexpr int64_t kSmallMacs = 1 << 20;

struct SmallConvProblem {
  const float* x;     // [N, C, in]
  const float* wt;    // Wᵀ packed [C * K][Mp], output channels padded to a multiple of 16 with zeros
  const float* bias;  // [Mp]
  float* y;           // [N, M, out]
  int64_t N, C, M, Mp, K, in, out, stride, dilation, pad;
};

// Output channels [m0, m0 + 16 V) of output samples [o0, o0 + O): Σ over channels and the taps inside x of
// x · Wᵀ row. O samples share each load of W (the large operand); taps in the padding read as zero, checked
// only when the tile is not INTERIOR (every tap of every sample inside x).
template <int V, int O, bool INTERIOR>
inline __attribute__((always_inline)) void small_conv_tile(const SmallConvProblem& p, const float* x,
                                                           int64_t o0, int64_t m0, float* out) {
  Vec16 acc[O][V];
#pragma GCC unroll 4
  for (int j = 0; j < O; ++j)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) load16(acc[j][v], p.bias + m0 + 16 * v);
  for (int64_t c = 0; c < p.C; ++c) {
    const float* xc = x + c * p.in;
    const float* wc = p.wt + c * p.K * p.Mp + m0;
    for (int64_t k = 0; k < p.K; ++k) {
      Vec16 w[V];
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) load16(w[v], wc + k * p.Mp + 16 * v);
#pragma GCC unroll 4
      for (int j = 0; j < O; ++j) {
        const int64_t i = (o0 + j) * p.stride - p.pad + k * p.dilation;
        const float xv = INTERIOR || (i >= 0 && i < p.in) ? xc[i] : 0.0f;
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) acc[j][v] += xv * w[v];
      }
    }
  }
#pragma GCC unroll 4
  for (int j = 0; j < O; ++j)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) store16(out + j * 64 + 16 * v, acc[j][v]);
}

template <int O, bool INTERIOR>
inline __attribute__((always_inline)) void small_conv_block_at(const SmallConvProblem& p, const float* x,
                                                               int64_t o0, int64_t m0, float* out) {
  const int64_t vectors = std::min<int64_t>(4, (p.Mp - m0) / 16);
  if (vectors == 4)
    small_conv_tile<4, O, INTERIOR>(p, x, o0, m0, out);
  else if (vectors == 3)
    small_conv_tile<3, O, INTERIOR>(p, x, o0, m0, out);
  else if (vectors == 2)
    small_conv_tile<2, O, INTERIOR>(p, x, o0, m0, out);
  else
    small_conv_tile<1, O, INTERIOR>(p, x, o0, m0, out);
}

template <int O>
inline __attribute__((always_inline)) void small_conv_block(const SmallConvProblem& p, const float* x,
                                                            int64_t o0, int64_t m0, float* out) {
  const int64_t first = o0 * p.stride - p.pad,
                last = (o0 + O - 1) * p.stride - p.pad + (p.K - 1) * p.dilation;
  if (first >= 0 && last < p.in)
    small_conv_block_at<O, true>(p, x, o0, m0, out);
  else
    small_conv_block_at<O, false>(p, x, o0, m0, out);
}

inline __attribute__((always_inline)) void small_conv(const SmallConvProblem& p) {
  constexpr int64_t kOutputs = 4;
  alignas(64) float columns[kOutputs * 64];
  for (int64_t n = 0; n < p.N; ++n) {
    const float* x = p.x + n * p.C * p.in;
    float* y = p.y + n * p.M * p.out;
    for (int64_t o0 = 0; o0 < p.out; o0 += kOutputs) {
      const int64_t outputs = std::min(kOutputs, p.out - o0);
      for (int64_t m0 = 0; m0 < p.Mp; m0 += 64) {
        if (outputs == kOutputs)
          small_conv_block<kOutputs>(p, x, o0, m0, columns);
        else
          for (int64_t j = 0; j < outputs; ++j) small_conv_block<1>(p, x, o0 + j, m0, columns + j * 64);
        const int64_t width = std::min<int64_t>(64, p.M - m0);
        for (int64_t m = 0; m < width; ++m)
          for (int64_t j = 0; j < outputs; ++j) y[(m0 + m) * p.out + o0 + j] = columns[j * 64 + m];
      }
    }
  }
}

__attribute__((target("avx512f,fma"))) void small_conv_avx512(const SmallConvProblem& p) { small_conv(p); }
__attribute__((target("avx2,fma"))) void small_conv_avx2(const SmallConvProblem& p) { small_conv(p); }
void small_conv_baseline(const SmallConvProblem& p) { small_conv(p); }

using SmallConvFn = void (*)(const SmallConvProblem&);

SmallConvFn pick_small_conv() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return small_conv_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return small_conv_avx2;
  return small_conv_baseline;
}

const SmallConvFn kSmallConv = pick_small_conv();

// The kernel the registry would pick for this node below `priority`, or nullptr.
std::unique_ptr<Kernel> next_kernel(const KernelInfo& info, int priority) {
  for (const runtime::KernelDef* def :
       runtime::KernelRegistry::cpu().candidates(info.node().domain, info.op_type(), info.opset(), false)) {
    if (def->priority >= priority) continue;
    if (auto k = def->factory(info)) return k;
  }
  return nullptr;
}

constexpr int kPriority = 20;

class SmallConv1d final : public Kernel {
 public:
  explicit SmallConv1d(const KernelInfo& info, const Tensor& W)
      : attrs_(WindowAttrs::parse(info, false)),
        M_(W.dim(0)),
        C_(W.dim(1)),
        K_(W.dim(2)),
        Mp_((W.dim(0) + 15) / 16 * 16),
        next_(next_kernel(info, kPriority)) {
    if (!next_) next_ = fast::reference_kernel(info);
    wt_.assign(static_cast<size_t>(C_ * K_ * Mp_ + 16), 0.0f);
    const float* w = W.data<float>();
    for (int64_t m = 0; m < M_; ++m)
      for (int64_t ck = 0; ck < C_ * K_; ++ck) wt_[ck * Mp_ + m] = w[m * C_ * K_ + ck];
    const Tensor* B = info.has_input(2) ? info.constant_input(2) : nullptr;
    bias_.assign(static_cast<size_t>(Mp_ + 16), 0.0f);
    if (B) std::memcpy(bias_.data(), B->data<float>(), sizeof(float) * M_);
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    if (X.type() != ElementType::kFloat || X.rank() != 3 || X.dim(1) != C_) return next_->compute(ctx);
    const std::span<const int64_t> kernel =
        check_conv_shapes(ctx, attrs_, X.shape(), ctx.input(1).shape(), 1, false);
    const Window3 g = resolve_window(ctx, attrs_, spatial_dims(X.shape()), kernel);
    const int64_t N = X.dim(0), out = g.out[2];
    if (N * M_ * C_ * K_ * out > kSmallMacs) return next_->compute(ctx);
    Tensor& Y = ctx.allocate_uninitialized_output(0, ElementType::kFloat, {N, M_, out});
    SmallConvProblem p{
        X.data<float>(), wt_.data(),    bias_.data(),  Y.data<float>(), N, C_, M_, Mp_, K_, g.in[2], out,
        g.stride[2],     g.dilation[2], g.pad_begin[2]};
    kSmallConv(p);
  }

 private:
  WindowAttrs attrs_;
  int64_t M_, C_, K_, Mp_;
  std::vector<float> wt_, bias_;
  std::unique_ptr<Kernel> next_;
};

std::unique_ptr<Kernel> create_conv_1d(const KernelInfo& info) {
  if (!fast::input_is_float(info, 0)) return nullptr;
  // W's type and shape only, until the node is taken: the aligned copy of an unaligned W that constant_input
  // makes would be thrown away by the oneDNN kernel, which packs the view (every 2-D Conv passes here first).
  const Tensor* W = runtime::constant_input_view(info, 1);
  const int64_t group = info.attr_int("group", 1);
  if (!W || W->type() != ElementType::kFloat || W->rank() != 3 || group < 1) return nullptr;
  if (info.has_input(2) && !fast::input_is_float(info, 2)) return nullptr;
  if (W->dim(1) == 1 && W->dim(0) == group) return std::make_unique<DepthwiseConv1d>(info);
  // The small dense path needs the bias as a constant too (it is packed with the weights).
  if (group == 1 && W->size() <= kSmallWeights && W->size() > 0 &&
      (!info.has_input(2) || (info.constant_input(2) && info.constant_input(2)->shape() == Shape{W->dim(0)})))
    return std::make_unique<SmallConv1d>(info, *info.constant_input(1));
  return nullptr;
}

}  // namespace

// Priority 20: ahead of the oneDNN Conv (10), which takes every node this one declines.
KESTREL_FAST_KERNEL(Conv, "", 1, 10, "float", kPriority, &create_conv_1d);
KESTREL_FAST_KERNEL(Conv, "", 11, 1000, "float", kPriority, &create_conv_1d);

}  // namespace kestrel::cpu
