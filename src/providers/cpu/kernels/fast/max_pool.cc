// Fast MaxPool (all opsets, float, 1-D/2-D/3-D, no Indices output): per output element, the window's valid
// range is clipped once per row instead of testing every tap, planes split over the session's threads. Same
// rule as the reference: the first valid element starts the max and only a strictly greater one replaces it.
#include <omp.h>

#include <algorithm>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "runtime/inline_shape.h"
#include "providers/cpu/kernels/onnx/spatial_geometry.h"

namespace kestrel::cpu {
namespace {

KESTREL_ISA_CLONES void max_pool_planes(const float* x, float* y, int64_t planes, const Window3& g,
                                        int threads) {
  const int64_t D = g.in[0], H = g.in[1], W = g.in[2];
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && planes > 1)
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x + p * D * H * W;
    float* yp = y + p * OD * OH * OW;
    for (int64_t od = 0; od < OD; ++od) {
      int64_t d0, d1;
      valid_taps(od, g.stride[0], g.pad_begin[0], g.dilation[0], g.kernel[0], D, d0, d1);
      for (int64_t oh = 0; oh < OH; ++oh) {
        int64_t h0, h1;
        valid_taps(oh, g.stride[1], g.pad_begin[1], g.dilation[1], g.kernel[1], H, h0, h1);
        float* yr = yp + (od * OH + oh) * OW;
        for (int64_t ow = 0; ow < OW; ++ow) {
          int64_t w0, w1;
          valid_taps(ow, g.stride[2], g.pad_begin[2], g.dilation[2], g.kernel[2], W, w0, w1);
          const int64_t iw0 = ow * g.stride[2] - g.pad_begin[2];
          float best = -INFINITY;
          bool any = false;
          for (int64_t a = d0; a < d1; ++a) {
            const int64_t id = od * g.stride[0] - g.pad_begin[0] + a * g.dilation[0];
            for (int64_t b = h0; b < h1; ++b) {
              const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + b * g.dilation[1];
              const float* row = xp + (id * H + ih) * W + iw0;
              int64_t e = w0;
              if (!any && e < w1) {
                best = row[e * g.dilation[2]];
                any = true;
                ++e;
              }
              for (; e < w1; ++e) {
                const float v = row[e * g.dilation[2]];
                best = v > best ? v : best;
              }
            }
          }
          yr[ow] = best;
        }
      }
    }
  }
}

class FastMaxPool final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!fast::input_is_float(info, 0) || info.has_output(1)) return nullptr;
    return std::make_unique<FastMaxPool>(info);
  }
  explicit FastMaxPool(const KernelInfo& info)
      : attrs_(WindowAttrs::parse(info, true)), reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    if (X.type() != ElementType::kFloat || X.rank() < 3 || X.rank() > 5 || ctx.has_output(1))
      return reference_->compute(ctx);
    const Window3 g = resolve_window(ctx, attrs_, spatial_dims(X.shape()), attrs_.kernel_shape);
    runtime::InlineShape ys;  // rank 3..5
    ys.push_back(X.dim(0));
    ys.push_back(X.dim(1));
    for (int64_t d : g.out_dims()) ys.push_back(d);
    Tensor& Y = ctx.allocate_output_dims(0, ElementType::kFloat, ys.span());
    if (Y.size() == 0) return;
    max_pool_planes(X.data<float>(), Y.data<float>(), X.dim(0) * X.dim(1), g, ctx.intra_op_threads());
  }

 private:
  WindowAttrs attrs_;
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(MaxPool, "", 1, 7, "float", 10, &FastMaxPool::create);
KESTREL_FAST_KERNEL(MaxPool, "", 8, 9, "float", 10, &FastMaxPool::create);
KESTREL_FAST_KERNEL(MaxPool, "", 10, 10, "float", 10, &FastMaxPool::create);
KESTREL_FAST_KERNEL(MaxPool, "", 11, 11, "float", 10, &FastMaxPool::create);
KESTREL_FAST_KERNEL(MaxPool, "", 12, 1000, "float", 10, &FastMaxPool::create);

}  // namespace kestrel::cpu
