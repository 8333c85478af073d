// QLinearGlobalAveragePool (ai.kestrel, v1): the reference, one channel's sum at a time (see
// q_linear_global_average_pool.h).
#include "providers/cpu/kernels/kestrel/q_linear_global_average_pool.h"

namespace kestrel::cpu {
namespace {

class QLinearGlobalAveragePool final : public Kernel {
 public:
  explicit QLinearGlobalAveragePool(const KernelInfo& info) : channels_last_(info.attr_int("channels_last", 0) != 0) {}

  void compute(KernelContext& ctx) const override {
    const QLinearPoolParams p = QLinearPoolParams::read(ctx, channels_last_);
    const Tensor& X = ctx.input(0);
    Tensor& Y = ctx.allocate_uninitialized_output(0, p.y_type, p.y_shape);  // every element written
    const int64_t C = p.channels, S = p.positions;
    for (int64_t n = 0; n < p.batch; ++n)
      for (int64_t c = 0; c < C; ++c) {
        int64_t sum = 0;
        for (int64_t s = 0; s < S; ++s) {
          const int64_t i = channels_last_ ? (n * S + s) * C + c : (n * C + c) * S + s;
          const int32_t q = X.type() == ElementType::kUInt8 ? X.data<uint8_t>()[i] : X.data<int8_t>()[i];
          sum += q - p.x_zero;
        }
        if (p.y_type == ElementType::kUInt8)
          Y.data<uint8_t>()[n * C + c] = p.requantize<uint8_t>(sum);
        else
          Y.data<int8_t>()[n * C + c] = p.requantize<int8_t>(sum);
      }
  }

 private:
  bool channels_last_;
};

}  // namespace

KESTREL_KERNEL(QLinearGlobalAveragePool, "ai.kestrel", 1, 1000, "uint8, int8",
               make_kernel<QLinearGlobalAveragePool>());

}  // namespace kestrel::cpu
