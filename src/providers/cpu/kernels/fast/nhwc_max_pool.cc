// Fast NhwcMaxPool (ai.kestrel, float): MaxPool over a channels-last X [N, H, W, C]. Each output pixel keeps
// its running maximum for a block of channels in registers over the window's taps (whose valid range is
// clipped once per row and column instead of tested per tap) and stores it once; compiled for
// AVX-512/AVX2/baseline. Rows of output pixels are split over the threads. Same rule as the reference: the
// first valid element starts the max and only a strictly greater one replaces it (so NaN propagates only from
// a window's first element); a window with no valid element gives -inf.

#include <algorithm>
#include <cmath>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/onnx/spatial_geometry.h"
#include "providers/cpu/kernels/parallel_ranges.h"

namespace kestrel::cpu {
namespace {

constexpr int64_t kBlock = 64;  // channels kept in registers at once (four AVX-512 vectors)

// Max over the taps [0, taps_h) x [0, taps_w) for channels [0, 64) of one output pixel; `first` is the
// window's first valid pixel, `row_step`/`col_step` the distance between taps in floats.
inline __attribute__((always_inline)) void window_max_block(const float* first, float* out, int64_t taps_h,
                                                            int64_t taps_w, int64_t row_step,
                                                            int64_t col_step) {
  using fast::Vec16;
  Vec16 b0, b1, b2, b3, v0, v1, v2, v3;  // four named vectors: an array of them would live on the stack
  fast::load16(b0, first);
  fast::load16(b1, first + 16);
  fast::load16(b2, first + 32);
  fast::load16(b3, first + 48);
  for (int64_t a = 0; a < taps_h; ++a) {
    const float* row = first + a * row_step;
    for (int64_t b = a == 0 ? 1 : 0; b < taps_w; ++b) {
      const float* in = row + b * col_step;
      fast::load16(v0, in);
      fast::load16(v1, in + 16);
      fast::load16(v2, in + 32);
      fast::load16(v3, in + 48);
      b0 = v0 > b0 ? v0 : b0;
      b1 = v1 > b1 ? v1 : b1;
      b2 = v2 > b2 ? v2 : b2;
      b3 = v3 > b3 ? v3 : b3;
    }
  }
  fast::store16(out, b0);
  fast::store16(out + 16, b1);
  fast::store16(out + 32, b2);
  fast::store16(out + 48, b3);
}

// The same for the last `width` (< 64) channels.
inline void window_max_tail(const float* first, float* out, int64_t taps_h, int64_t taps_w, int64_t row_step,
                            int64_t col_step, int64_t width) {
  float best[kBlock];
  for (int64_t c = 0; c < width; ++c) best[c] = first[c];
  for (int64_t a = 0; a < taps_h; ++a) {
    const float* row = first + a * row_step;
    for (int64_t b = a == 0 ? 1 : 0; b < taps_w; ++b) {
      const float* in = row + b * col_step;
      for (int64_t c = 0; c < width; ++c) best[c] = in[c] > best[c] ? in[c] : best[c];
    }
  }
  for (int64_t c = 0; c < width; ++c) out[c] = best[c];
}

// Output rows [r0, r1) (a row is one n and oh).
KESTREL_ISA_CLONES void nhwc_max_pool_rows(const float* x, float* y, int64_t H, int64_t W, int64_t C,
                                           const Window3& g, int64_t r0, int64_t r1) {
  const int64_t OH = g.out[1], OW = g.out[2];
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t n = r / OH, oh = r % OH;
    int64_t h0, h1;
    valid_taps(oh, g.stride[1], g.pad_begin[1], g.dilation[1], g.kernel[1], H, h0, h1);
    const int64_t ih0 = oh * g.stride[1] - g.pad_begin[1] + h0 * g.dilation[1];
    for (int64_t ow = 0; ow < OW; ++ow) {
      float* out = y + (r * OW + ow) * C;
      int64_t w0, w1;
      valid_taps(ow, g.stride[2], g.pad_begin[2], g.dilation[2], g.kernel[2], W, w0, w1);
      if (h0 == h1 || w0 == w1) {
        std::fill(out, out + C, -INFINITY);
        continue;
      }
      const int64_t iw0 = ow * g.stride[2] - g.pad_begin[2] + w0 * g.dilation[2];
      const float* first = x + ((n * H + ih0) * W + iw0) * C;
      const int64_t row_step = g.dilation[1] * W * C, col_step = g.dilation[2] * C;
      int64_t c = 0;
      for (; c + kBlock <= C; c += kBlock)
        window_max_block(first + c, out + c, h1 - h0, w1 - w0, row_step, col_step);
      if (c < C) window_max_tail(first + c, out + c, h1 - h0, w1 - w0, row_step, col_step, C - c);
    }
  }
}

void nhwc_max_pool(const float* x, float* y, int64_t N, int64_t H, int64_t W, int64_t C, const Window3& g,
                   int threads) {
  const int64_t rows = N * g.out[1];
  parallel_ranges(rows, threads, rows * g.out[2] * C > 16384,
                  [&](int64_t r0, int64_t r1) { nhwc_max_pool_rows(x, y, H, W, C, g, r0, r1); });
}

class FastNhwcMaxPool final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!fast::input_is_float(info, 0)) return nullptr;
    return std::make_unique<FastNhwcMaxPool>(info);
  }
  explicit FastNhwcMaxPool(const KernelInfo& info)
      : attrs_(WindowAttrs::parse(info, true)), reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    if (X.type() != ElementType::kFloat || X.rank() != 4 || attrs_.kernel_shape.size() != 2)
      return reference_->compute(ctx);  // which reports the error
    const int64_t N = X.dim(0), H = X.dim(1), W = X.dim(2), C = X.dim(3);
    const int64_t spatial[2] = {H, W};
    const Window3 g = resolve_window(ctx, attrs_, spatial, attrs_.kernel_shape);
    const int64_t out[4] = {N, g.out[1], g.out[2], C};
    Tensor& Y = ctx.allocate_uninitialized_output_dims(0, ElementType::kFloat, out);  // every element written
    if (Y.size() == 0) return;
    nhwc_max_pool(X.data<float>(), Y.data<float>(), N, H, W, C, g, ctx.intra_op_threads());
  }

 private:
  WindowAttrs attrs_;
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(NhwcMaxPool, "ai.kestrel", 1, 1000, "float", 10, &FastNhwcMaxPool::create);

}  // namespace kestrel::cpu
