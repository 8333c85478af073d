// NhwcMaxPool (ai.kestrel, v1): MaxPool on a channels-last X [N, H, W, C] giving Y [N, OH, OW, C], with
// MaxPool's attributes (kernel_shape, strides, pads, auto_pad, dilations, ceil_mode) and no Indices output.
// Made by the layout_nhwc rule so pooling between channels-last convolutions needs no transposes. Same rule as
// MaxPool: the first valid element of a window starts the max and only a strictly greater one replaces it; a
// window with no valid element gives -inf (the lowest value for uint8/int8, which quantized models pool in
// place of DequantizeLinear -> MaxPool -> QuantizeLinear). The channel loop is innermost, so it vectorises.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "providers/cpu/kernels/onnx/spatial_geometry.h"
#include "providers/cpu/kernels/parallel_ranges.h"
#include "runtime/kernel_registry.h"

namespace kestrel::cpu {
namespace {

class NhwcMaxPool final : public Kernel {
 public:
  explicit NhwcMaxPool(const KernelInfo& info) : attrs_(WindowAttrs::parse(info, true)) {
    if (attrs_.kernel_shape.size() != 2)
      info.fail("kernel_shape must have 2 values (H, W), got " + shape_to_string(attrs_.kernel_shape));
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const ElementType t = X.type();
    if ((t != ElementType::kFloat && t != ElementType::kUInt8 && t != ElementType::kInt8) || X.rank() != 4)
      ctx.fail("X must be a 4-D float, uint8 or int8 tensor [N, H, W, C], got " +
               std::string(element_type_name(t)) + " " + shape_to_string(X.shape()));
    if (t == ElementType::kFloat) return pool<float>(ctx, X);
    if (t == ElementType::kUInt8) return pool<uint8_t>(ctx, X);
    pool<int8_t>(ctx, X);
  }

 private:
  template <typename T>
  void pool(KernelContext& ctx, const Tensor& X) const {
    const int64_t N = X.dim(0), H = X.dim(1), W = X.dim(2), C = X.dim(3);
    const int64_t spatial[] = {H, W};
    const Window3 g = resolve_window(ctx, attrs_, spatial, attrs_.kernel_shape);
    const int64_t OH = g.out[1], OW = g.out[2];
    const int64_t ys[] = {N, OH, OW, C};
    Tensor& Y = ctx.allocate_uninitialized_output_dims(0, X.type(), ys);  // all written
    if (Y.size() == 0) return;
    const T* x = X.data<T>();
    T* y = Y.data<T>();
    const T empty = std::is_floating_point_v<T> ? static_cast<T>(-INFINITY) : std::numeric_limits<T>::lowest();
    const int threads = ctx.intra_op_threads();
    parallel_ranges(N * OH, threads, Y.size() > 16384, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        const int64_t n = row / OH, oh = row % OH;
        for (int64_t ow = 0; ow < OW; ++ow) {
          T* out = y + ((n * OH + oh) * OW + ow) * C;
          bool any = false;
          for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
            const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
            if (ih < 0 || ih >= H) continue;
            for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
              const int64_t iw = ow * g.stride[2] - g.pad_begin[2] + kw * g.dilation[2];
              if (iw < 0 || iw >= W) continue;
              const T* in = x + ((n * H + ih) * W + iw) * C;
              if (!any) {
                std::copy(in, in + C, out);
                any = true;
                continue;
              }
#pragma omp simd
              for (int64_t c = 0; c < C; ++c) out[c] = in[c] > out[c] ? in[c] : out[c];
            }
          }
          if (!any) std::fill(out, out + C, empty);
        }
      }
    });
  }

  WindowAttrs attrs_;
};

}  // namespace

KESTREL_KERNEL(NhwcMaxPool, "ai.kestrel", 1, 1000, "float, uint8, int8", make_kernel<NhwcMaxPool>());

}  // namespace kestrel::cpu
