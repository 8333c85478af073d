// Fast 2-D float ConvTranspose whose stride equals its kernel (no pads, dilations, groups, output_padding or
// output_shape): the learned upsampling of segmentation and detection heads (2x2 stride 2). Each input pixel
// then owns its own kh x kw block of the output, so
//   Y[n, m, h kh + i, w kw + j] = B[m] + sum over c of X[n, c, h, w] W[c, m, i, j]
// is computed directly: per input row, output channel and kernel row, 16 input columns at a time into one
// accumulator per kernel column, which are then interleaved into the output row. oneDNN 2.6's deconvolution
// spends several times as long on these shapes, mostly reordering its input and output. Kernels up to 4 wide;
// everything else keeps the oneDNN or reference kernel. Rows of the input are split over the threads.
#include <algorithm>
#include <cstring>
#include <vector>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/onnx/conv.h"

namespace kestrel::cpu {
namespace {

using fast::Vec16;

constexpr int64_t kMaxKernelWidth = 4;

// The output rows of input row h of one image, for a kernel KW wide: X rows [C][W] (plane stride `plane`),
// packed weights w[m][i][j][c], Y rows of width W * KW for every m and i.
template <int KW>
KESTREL_ISA_CLONES void upsample_row(const float* x, int64_t plane, int64_t C, int64_t W, int64_t M, int64_t kh,
                                     const float* w, const float* bias, float* y, int64_t y_plane, int64_t y_row) {
  alignas(64) float xs[16];
  alignas(64) float tail[KW][16];
  for (int64_t m = 0; m < M; ++m)
    for (int64_t i = 0; i < kh; ++i) {
      const float* wmi = w + (m * kh + i) * KW * C;
      float* out = y + m * y_plane + i * y_row;
      const float b = bias ? bias[m] : 0.0f;
      for (int64_t w0 = 0; w0 < W; w0 += 16) {
        const int64_t n = std::min<int64_t>(16, W - w0);
        Vec16 acc[KW];
        for (int j = 0; j < KW; ++j) acc[j] = Vec16{} + b;
        if (n == 16) {
          for (int64_t c = 0; c < C; ++c) {
            Vec16 xv;
            fast::load16(xv, x + c * plane + w0);
            for (int j = 0; j < KW; ++j) acc[j] += xv * wmi[j * C + c];
          }
        } else {
          for (int64_t c = 0; c < C; ++c) {
            std::memset(xs, 0, sizeof(xs));
            std::memcpy(xs, x + c * plane + w0, static_cast<size_t>(n) * sizeof(float));
            Vec16 xv;
            fast::load16(xv, xs);
            for (int j = 0; j < KW; ++j) acc[j] += xv * wmi[j * C + c];
          }
        }
        float* o = out + w0 * KW;
        if constexpr (KW == 2) {
          if (n == 16) {
            typedef int32_t Index16 __attribute__((vector_size(64)));
            const Index16 lo = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23};
            const Index16 hi = lo + 8;
            fast::store16(o, __builtin_shuffle(acc[0], acc[1], lo));
            fast::store16(o + 16, __builtin_shuffle(acc[0], acc[1], hi));
            continue;
          }
        }
        for (int j = 0; j < KW; ++j) fast::store16(tail[j], acc[j]);
        for (int64_t q = 0; q < n; ++q)
          for (int j = 0; j < KW; ++j) o[q * KW + j] = tail[j][q];
      }
    }
}

using UpsampleRow = void (*)(const float*, int64_t, int64_t, int64_t, int64_t, int64_t, const float*, const float*,
                             float*, int64_t, int64_t);
constexpr UpsampleRow kUpsampleRow[kMaxKernelWidth + 1] = {nullptr, upsample_row<1>, upsample_row<2>,
                                                           upsample_row<3>, upsample_row<4>};

class ConvTransposeUpsample final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!fast::input_is_float(info, 0)) return nullptr;
    const Tensor* w = info.constant_input(1);
    if (!w || w->type() != ElementType::kFloat || w->rank() != 4 || w->size() == 0) return nullptr;
    const Tensor* b = info.has_input(2) ? info.constant_input(2) : nullptr;
    if (info.has_input(2) && (!b || b->type() != ElementType::kFloat || b->rank() != 1 || b->dim(0) != w->dim(1)))
      return nullptr;
    const std::vector<int64_t> kernel = {w->dim(2), w->dim(3)};
    const auto ints = [&](const char* name) { return info.attr_ints(name, {}); };
    const bool ones = [&] {
      for (int64_t d : ints("dilations"))
        if (d != 1) return false;
      return true;
    }();
    const std::vector<int64_t> pads = ints("pads"), padding = ints("output_padding");
    const bool no_pads = std::all_of(pads.begin(), pads.end(), [](int64_t p) { return p == 0; }) &&
                         std::all_of(padding.begin(), padding.end(), [](int64_t p) { return p == 0; });
    const std::vector<int64_t> kshape = ints("kernel_shape");
    if (ints("strides") != kernel || !ones || !no_pads || info.attr_int("group", 1) != 1 ||
        !ints("output_shape").empty() || (!kshape.empty() && kshape != kernel) ||
        info.attr_string("auto_pad", "NOTSET") != "NOTSET" || kernel[1] > kMaxKernelWidth)
      return nullptr;
    return std::make_unique<ConvTransposeUpsample>(info, *w, b);
  }

  ConvTransposeUpsample(const KernelInfo& info, const Tensor& w, const Tensor* b)
      : reference_(fast::reference_kernel(info)), C_(w.dim(0)), M_(w.dim(1)), kh_(w.dim(2)), kw_(w.dim(3)) {
    // W [C, M, kh, kw] -> [M, kh, kw, C]: the channel sums read consecutive weights.
    packed_.resize(static_cast<size_t>(w.size()));
    const float* src = w.data<float>();
    for (int64_t c = 0; c < C_; ++c)
      for (int64_t m = 0; m < M_; ++m)
        for (int64_t k = 0; k < kh_ * kw_; ++k)
          packed_[static_cast<size_t>((m * kh_ * kw_ + k) * C_ + c)] = src[(c * M_ + m) * kh_ * kw_ + k];
    if (b) bias_.assign(b->data<float>(), b->data<float>() + M_);
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    if (X.type() != ElementType::kFloat || X.rank() != 4 || X.dim(1) != C_) return reference_->compute(ctx);
    const int64_t N = X.dim(0), H = X.dim(2), W = X.dim(3);
    const int64_t out[4] = {N, M_, H * kh_, W * kw_};
    Tensor& Y = ctx.allocate_uninitialized_output_dims(0, ElementType::kFloat, out);  // every element written
    if (Y.size() == 0) return;
    const int64_t plane = H * W, y_row = W * kw_, y_plane = H * kh_ * y_row;
    const float* x = X.data<float>();
    float* y = Y.data<float>();
    const int threads = ctx.intra_op_threads();
    const bool parallel = X.size() * M_ * kh_ * kw_ >= (int64_t{1} << 18);
    parallel_ranges(N * H, threads, parallel, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t n = r / H, h = r % H;
        kUpsampleRow[kw_](x + n * C_ * plane + h * W, plane, C_, W, M_, kh_, packed_.data(),
                          bias_.empty() ? nullptr : bias_.data(), y + n * M_ * y_plane + h * kh_ * y_row, y_plane,
                          y_row);
      }
    });
  }

 private:
  std::unique_ptr<Kernel> reference_;
  int64_t C_, M_, kh_, kw_;
  std::vector<float> packed_;  // [M, kh, kw, C]
  std::vector<float> bias_;    // [M] or empty
};

}  // namespace

KESTREL_FAST_KERNEL(ConvTranspose, "", 1, 10, "float", 11, &ConvTransposeUpsample::create);
KESTREL_FAST_KERNEL(ConvTranspose, "", 11, 1000, "float", 11, &ConvTransposeUpsample::create);

}  // namespace kestrel::cpu
