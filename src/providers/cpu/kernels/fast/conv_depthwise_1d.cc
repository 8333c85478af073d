// Fast Conv for 1-D depthwise convolution (float, group = input channels = output channels, constant W): each
// output channel is its input row slid over its own few taps. oneDNN 2.6 has no direct kernel for this case
// and runs it through its gemm fallback (44 µs for silero_vad's 258 channels x 8 samples x 5 taps, under 2 µs
// here). Other Conv nodes are declined at session creation and go to the next kernel (oneDNN).
#include <omp.h>

#include <algorithm>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/onnx/conv.h"

namespace kestrel::cpu {
namespace {

// Splits the channels between threads only when there is enough work to pay for waking them.
constexpr int64_t kParallelMacs = 1 << 17;

// y[o] = bias + Σ_k w[k] · x[o · stride - pad + k · dilation] over the taps that land inside x.
KESTREL_ISA_CLONES void convolve_row(const float* x, int64_t in, const float* w, int64_t taps, float bias,
                                     float* y, int64_t out, int64_t stride, int64_t dilation, int64_t pad) {
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * stride - pad;
    float acc = bias;
    if (start >= 0 && start + (taps - 1) * dilation < in) {
      for (int64_t k = 0; k < taps; ++k) acc += w[k] * x[start + k * dilation];
    } else {
      for (int64_t k = 0; k < taps; ++k) {
        const int64_t i = start + k * dilation;
        if (i >= 0 && i < in) acc += w[k] * x[i];
      }
    }
    y[o] = acc;
  }
}

class DepthwiseConv1d final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!fast::input_is_float(info, 0)) return nullptr;
    const Tensor* W = info.constant_input(1);
    const int64_t group = info.attr_int("group", 1);
    if (!W || W->type() != ElementType::kFloat || W->rank() != 3 || W->dim(1) != 1 || W->dim(0) != group ||
        group < 1)
      return nullptr;
    if (info.has_input(2) && !fast::input_is_float(info, 2)) return nullptr;
    return std::make_unique<DepthwiseConv1d>(info);
  }

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
    const std::vector<int64_t> kernel = check_conv_shapes(ctx, attrs_, X.shape(), W.shape(), group_, false);
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

}  // namespace

// Priority 20: ahead of the oneDNN Conv (10), which takes every node this one declines.
KESTREL_FAST_KERNEL(Conv, "", 1, 10, "float", 20, &DepthwiseConv1d::create);
KESTREL_FAST_KERNEL(Conv, "", 11, 1000, "float", 20, &DepthwiseConv1d::create);

}  // namespace kestrel::cpu
