// Fast QLinearConv (opset 10) for constant 2-D weights without a weight zero point (or 128 for uint8
// weights), per-tensor or per-channel weight scales, constant int32 bias: the int8 convolution of
// int8_conv.h with bias and requantization per output channel inside the oneDNN primitive (else in a
// vectorised pass afterwards), in the reference's order: saturate(round(float(acc + bias) * (x_scale *
// w_scale / y_scale) + y_zero_point)). Other cases keep the reference kernel. The same kernel runs ai.kestrel
// QLinearConv with `channels_last` = 1 (NHWC X and Y, made by the layout_nhwc rule).
#include "providers/cpu/dnnl/int8_conv.h"
#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/fast/quantize_simd.h"

namespace kestrel::cpu {
namespace {

class DnnlQLinearConv final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    const Tensor* w_scale = info.constant_input(4);
    if (!w_scale || w_scale->type() != ElementType::kFloat) return nullptr;
    if (info.has_input(8) && !info.constant_input(8)) return nullptr;
    auto conv = Int8PackedConv::from_constants(info, 3, 5);
    if (!conv) return nullptr;
    const int64_t M = conv->out_channels();
    if (!(w_scale->size() == 1 && w_scale->rank() <= 1) && !(w_scale->rank() == 1 && w_scale->dim(0) == M))
      return nullptr;
    const Tensor* bias = info.has_input(8) ? info.constant_input(8) : nullptr;
    if (bias && (bias->type() != ElementType::kInt32 || bias->rank() != 1 || bias->dim(0) != M)) return nullptr;
    return std::make_unique<DnnlQLinearConv>(info, std::move(conv), *w_scale, bias);
  }
  DnnlQLinearConv(const KernelInfo& info, std::unique_ptr<Int8PackedConv> conv, const Tensor& w_scale,
                  const Tensor* bias)
      : reference_(fast::reference_kernel(info)),
        conv_(std::move(conv)),
        // oneDNN 2.6 fixes a convolution's scales and output zero point when the primitive is made, so they are
        // only moved inside for constant ones (a primitive per distinct run-time value would pile up).
        requantize_inside_(info.constant_input(1) && info.constant_input(6) &&
                           (!info.has_input(7) || info.constant_input(7))) {
    const int64_t M = conv_->out_channels();
    for (int64_t m = 0; m < M; ++m) {
      w_scale_.push_back(w_scale.data<float>()[w_scale.size() == 1 ? 0 : m]);
      bias_.push_back(bias ? bias->data<int32_t>()[m] : 0);
    }
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const Tensor& x_scale = ctx.input(1);
    const Tensor& y_scale = ctx.input(6);
    const Tensor* y_zp = ctx.optional_input(7);
    const ElementType out_type = y_zp ? y_zp->type() : X.type();
    const bool params_ok = x_scale.type() == ElementType::kFloat && x_scale.size() == 1 && x_scale.rank() <= 1 &&
                           y_scale.type() == ElementType::kFloat && y_scale.size() == 1 && y_scale.rank() <= 1 &&
                           (!y_zp || (y_zp->size() == 1 && y_zp->rank() <= 1)) &&
                           (out_type == ElementType::kUInt8 || out_type == ElementType::kInt8);
    Int8PackedConv::Run run;
    if (!params_ok || !conv_->prepare(ctx, X, ctx.optional_input(2), run)) return reference_->compute(ctx);
    const int64_t N = run.out[0], M = run.out[1], P = run.out[2] * run.out[3];
    const float sx = *x_scale.data<float>(), sy = *y_scale.data<float>();
    const int32_t zy = !y_zp ? 0 : out_type == ElementType::kUInt8 ? *y_zp->data<uint8_t>() : *y_zp->data<int8_t>();
    // Per output channel: the bias and the activation zero point's share as one offset, and the scale in the
    // reference's order.
    std::vector<int32_t> offsets(static_cast<size_t>(M));
    std::vector<float> scales(static_cast<size_t>(M));
    for (int64_t m = 0; m < M; ++m) {
      offsets[static_cast<size_t>(m)] = bias_[static_cast<size_t>(m)] - run.x_zero_point * conv_->weight_sum(m);
      scales[static_cast<size_t>(m)] = sx * w_scale_[static_cast<size_t>(m)] / sy;
    }
    Tensor& Y = ctx.allocate_uninitialized_output(0, out_type, run.y_shape);  // every element written
    if (requantize_inside_ &&
        conv_->accumulate_quantized(ctx, X, run, scales.data(), offsets.data(), zy, out_type, Y.raw_data()))
      return;
    int32_t* planes = static_cast<int32_t*>(dnnl_backend::thread_scratch(1, static_cast<size_t>(N * M * P) * 4));
    conv_->accumulate(ctx, X, run, planes);
    if (conv_->channels_last()) {  // [N, Ho, Wo, M] sums: the channel is the last index
      for (int64_t i = 0; i < N * P * M; ++i) {
        const size_t c = static_cast<size_t>(i % M);
        if (out_type == ElementType::kUInt8)
          fast::requantize(planes + i, 1, scales[c], static_cast<float>(zy), false, offsets[c], Y.data<uint8_t>() + i);
        else
          fast::requantize(planes + i, 1, scales[c], static_cast<float>(zy), false, offsets[c], Y.data<int8_t>() + i);
      }
      return;
    }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t m = 0; m < M; ++m) {
        const int64_t at = (n * M + m) * P;
        const size_t c = static_cast<size_t>(m);
        if (out_type == ElementType::kUInt8)
          fast::requantize(planes + at, P, scales[c], static_cast<float>(zy), false, offsets[c], Y.data<uint8_t>() + at);
        else
          fast::requantize(planes + at, P, scales[c], static_cast<float>(zy), false, offsets[c], Y.data<int8_t>() + at);
      }
  }

 private:
  std::unique_ptr<Kernel> reference_;
  std::unique_ptr<Int8PackedConv> conv_;
  std::vector<float> w_scale_;
  std::vector<int32_t> bias_;
  bool requantize_inside_;
};

}  // namespace

KESTREL_FAST_KERNEL(QLinearConv, "", 10, 1000, "uint8, int8", 10, &DnnlQLinearConv::create);
KESTREL_FAST_KERNEL(QLinearConv, "ai.kestrel", 1, 1000, "uint8, int8", 10, &DnnlQLinearConv::create);

}  // namespace kestrel::cpu
