// QLinearConvTranspose (ai.kestrel, v1): the reference, one output element's sum at a time (see
// q_linear_conv_transpose.h).
#include "providers/cpu/kernels/kestrel/q_linear_conv_transpose.h"

namespace kestrel::cpu {
namespace {

int32_t byte_at(const Tensor& t, int64_t i) {
  return t.type() == ElementType::kUInt8 ? t.data<uint8_t>()[i] : t.data<int8_t>()[i];
}

class QLinearConvTranspose final : public Kernel {
 public:
  explicit QLinearConvTranspose(const KernelInfo& info)
      : channels_last_(info.attr_int("channels_last", 0) != 0) {}

  void compute(KernelContext& ctx) const override {
    const QLinearConvTransposeParams p = QLinearConvTransposeParams::read(ctx, channels_last_);
    const Tensor& X = ctx.input(0);
    const Tensor& Wt = ctx.input(3);
    Tensor& Y = ctx.allocate_uninitialized_output(0, p.y_type, p.y_shape);  // every element written
    const int64_t Ho = p.H * p.kh, Wo = p.W * p.kw;
    for (int64_t n = 0; n < p.N; ++n)
      for (int64_t h = 0; h < p.H; ++h)
        for (int64_t w = 0; w < p.W; ++w)
          for (int64_t m = 0; m < p.M; ++m)
            for (int64_t i = 0; i < p.kh; ++i)
              for (int64_t j = 0; j < p.kw; ++j) {
                int64_t acc = p.bias ? p.bias[m] : 0;
                for (int64_t c = 0; c < p.C; ++c) {
                  const int64_t xi = channels_last_ ? ((n * p.H + h) * p.W + w) * p.C + c
                                                    : ((n * p.C + c) * p.H + h) * p.W + w;
                  const int64_t wi = ((c * p.M + m) * p.kh + i) * p.kw + j;
                  acc += int64_t{byte_at(X, xi) - p.x_zero} *
                         (byte_at(Wt, wi) - p.w_zero[static_cast<size_t>(m)]);
                }
                const int64_t yh = h * p.kh + i, yw = w * p.kw + j;
                const int64_t yi = channels_last_ ? ((n * Ho + yh) * Wo + yw) * p.M + m
                                                  : ((n * p.M + m) * Ho + yh) * Wo + yw;
                const auto sum = static_cast<int32_t>(acc);
                if (p.y_type == ElementType::kUInt8)
                  Y.data<uint8_t>()[yi] = p.requantize<uint8_t>(sum, m);
                else
                  Y.data<int8_t>()[yi] = p.requantize<int8_t>(sum, m);
              }
  }

 private:
  bool channels_last_;
};

}  // namespace

KESTREL_KERNEL(QLinearConvTranspose, "ai.kestrel", 1, 1000, "uint8, int8",
               make_kernel<QLinearConvTranspose>());

}  // namespace kestrel::cpu
