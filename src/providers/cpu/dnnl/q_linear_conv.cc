// Fast QLinearConv (opset 10) for constant 2-D weights without a weight zero point (or 128 for uint8
// weights), per-tensor or per-channel weight scales, constant int32 bias: the int8 convolution of
// int8_conv.h with bias and requantization per output channel inside the oneDNN primitive (else in a
// vectorised pass afterwards), in the reference's order: saturate(round(float(acc + bias) * (x_scale *
// w_scale / y_scale) + y_zero_point)). Other cases keep the reference kernel. The same kernel runs ai.kestrel
// QLinearConv with `channels_last` = 1 (NHWC X and Y, made by the layout_nhwc rule), and its `x_table` (the
// lookup applied while X is copied into the padded buffer).
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
    if (info.has_input(9)) {  // ai.kestrel's x_table; Y's type then comes from y_zero_point
      const Tensor* table = info.constant_input(9);
      if (!table || !info.has_input(7) || !conv->set_input_table(*table)) return nullptr;
    }
    const int64_t M = conv->out_channels();
    if (!(w_scale->size() == 1 && w_scale->rank() <= 1) && !(w_scale->rank() == 1 && w_scale->dim(0) == M))
      return nullptr;
    const Tensor* bias = info.has_input(8) ? info.constant_input(8) : nullptr;
    if (bias && (bias->type() != ElementType::kInt32 || bias->rank() != 1 || bias->dim(0) != M)) return nullptr;
    return std::make_unique<DnnlQLinearConv>(info, std::move(conv), *w_scale, bias);
  }
  DnnlQLinearConv(const KernelInfo& info, std::unique_ptr<Int8PackedConv> conv, const Tensor& w_scale,
                  const Tensor* bias)
      : reference_(fast::reference_kernel(info)), conv_(std::move(conv)) {
    const int64_t M = conv_->out_channels();
    for (int64_t m = 0; m < M; ++m) {
      w_scale_.push_back(w_scale.data<float>()[w_scale.size() == 1 ? 0 : m]);
      bias_.push_back(bias ? bias->data<int32_t>()[m] : 0);
    }
    // oneDNN 2.6 fixes a convolution's scales and output zero point when the primitive is made, so they are
    // only moved inside for constant ones (a primitive per distinct run-time value would pile up); they and
    // the per-channel offsets of a constant input zero point are then computed once, here.
    const Tensor* x_scale = info.constant_input(1);
    const Tensor* y_scale = info.constant_input(6);
    const Tensor* y_zp = info.has_input(7) ? info.constant_input(7) : nullptr;
    if (!x_scale || !valid_scale(*x_scale) || !y_scale || !valid_scale(*y_scale) || (info.has_input(7) && !y_zp))
      return;
    if (y_zp && (y_zp->size() != 1 || y_zp->rank() > 1 || !is_byte(y_zp->type()))) return;
    const std::vector<float> scales = channel_scales(*x_scale->data<float>(), *y_scale->data<float>());
    // Without y_zero_point, Y has X's type, known at run time only: made for uint8 X, int8 X takes the pass after.
    conv_->set_requantization(scales, y_zp ? zero_point_value(*y_zp) : 0, y_zp ? y_zp->type() : ElementType::kUInt8);
    const Tensor* x_zp = info.has_input(2) ? info.constant_input(2) : nullptr;
    if (info.has_input(2) && !x_zp) return;
    if (x_zp && (x_zp->size() != 1 || x_zp->rank() > 1 || !is_byte(x_zp->type()))) return;
    // The zero point prepare() will report (+128 for int8 X); without one, X's type decides, so uint8's 0.
    fixed_x_zero_point_ = !x_zp ? 0 : zero_point_value(*x_zp) + (x_zp->type() == ElementType::kInt8 ? 128 : 0);
    fixed_offsets_ = offsets_for(fixed_x_zero_point_);
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const Tensor& x_scale = ctx.input(1);
    const Tensor& y_scale = ctx.input(6);
    const Tensor* y_zp = ctx.optional_input(7);
    const ElementType out_type = y_zp ? y_zp->type() : X.type();
    const bool params_ok = valid_scale(x_scale) && valid_scale(y_scale) &&
                           (!y_zp || (y_zp->size() == 1 && y_zp->rank() <= 1)) && is_byte(out_type);
    Int8PackedConv::Run run;
    if (!params_ok || !conv_->prepare(ctx, X, ctx.optional_input(2), run)) return reference_->compute(ctx);
    const int64_t N = run.out[0], M = run.out[1], P = run.out[2] * run.out[3];
    const int32_t zy = !y_zp ? 0 : zero_point_value(*y_zp);
    // Per output channel: the bias and the activation zero point's share as one offset (made once for a
    // constant zero point), and the scale in the reference's order.
    std::vector<int32_t> run_offsets;
    if (fixed_offsets_.empty() || run.x_zero_point != fixed_x_zero_point_) run_offsets = offsets_for(run.x_zero_point);
    const int32_t* offsets = run_offsets.empty() ? fixed_offsets_.data() : run_offsets.data();
    Tensor& Y = ctx.allocate_uninitialized_output(0, out_type, run.y_shape);  // every element written
    if (conv_->has_requantization() && conv_->requantized_type() == out_type &&
        conv_->accumulate_quantized(ctx, X, run, offsets, Y.raw_data()))
      return;
    const std::vector<float> scales = channel_scales(*x_scale.data<float>(), *y_scale.data<float>());
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
  static bool is_byte(ElementType t) { return t == ElementType::kUInt8 || t == ElementType::kInt8; }
  static bool valid_scale(const Tensor& s) { return s.type() == ElementType::kFloat && s.size() == 1 && s.rank() <= 1; }
  static int32_t zero_point_value(const Tensor& z) {
    return z.type() == ElementType::kUInt8 ? *z.data<uint8_t>() : *z.data<int8_t>();
  }
  std::vector<float> channel_scales(float sx, float sy) const {
    std::vector<float> scales(w_scale_.size());
    for (size_t m = 0; m < scales.size(); ++m) scales[m] = sx * w_scale_[m] / sy;
    return scales;
  }
  // bias - x_zero_point * weight_sum per output channel (x_zero_point after the +128 of int8 inputs).
  std::vector<int32_t> offsets_for(int32_t x_zero_point) const {
    std::vector<int32_t> offsets(bias_.size());
    for (size_t m = 0; m < offsets.size(); ++m)
      offsets[m] = bias_[m] - x_zero_point * conv_->weight_sum(static_cast<int64_t>(m));
    return offsets;
  }

  std::unique_ptr<Kernel> reference_;
  std::unique_ptr<Int8PackedConv> conv_;
  std::vector<float> w_scale_;
  std::vector<int32_t> bias_;
  // Made at creation for a constant (or omitted) input zero point: offsets_for(fixed_x_zero_point_).
  int32_t fixed_x_zero_point_ = 0;
  std::vector<int32_t> fixed_offsets_;
};

}  // namespace

KESTREL_FAST_KERNEL(QLinearConv, "", 10, 1000, "uint8, int8", 10, &DnnlQLinearConv::create);
KESTREL_FAST_KERNEL(QLinearConv, "ai.kestrel", 1, 1000, "uint8, int8", 10, &DnnlQLinearConv::create);

}  // namespace kestrel::cpu
