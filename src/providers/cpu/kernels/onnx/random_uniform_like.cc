// RandomUniformLike (opset 1): U[low, high) draws shaped like the input; dtype defaults to the input's type.
#include "providers/cpu/kernels/onnx/random.h"

namespace kestrel::cpu {
namespace {

using namespace rng;  // NOLINT: the shared helpers of this op family

class RandomUniformLike : public runtime::Kernel {
 public:
  explicit RandomUniformLike(const runtime::KernelInfo& info)
      : seed_(info),
        has_dtype_(info.has_attr("dtype")),
        dtype_(random_float_dtype(info, ElementType::kFloat)),
        low_(info.attr_float("low", 0.0f)),
        high_(info.attr_float("high", 1.0f)) {
    if (!(high_ >= low_))
      info.fail("expected low <= high, got " + std::to_string(low_) + " > " + std::to_string(high_));
  }

  void compute(runtime::KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const ElementType type = has_dtype_ ? dtype_ : x.type();
    auto engine = seed_.engine();
    fill_random(ctx.allocate_output(0, type, x.shape()), std::uniform_real_distribution<double>(low_, high_),
                engine, "RandomUniformLike", exclusive_high());
  }

 private:
  // high is excluded unless the range is a single point.
  std::optional<double> exclusive_high() const {
    return low_ < high_ ? std::optional<double>(high_) : std::nullopt;
  }

  RandomSeed seed_;
  bool has_dtype_;
  ElementType dtype_;
  double low_, high_;
};

}  // namespace

KESTREL_KERNEL(RandomUniformLike, "", 1, 1000, "input any; output float, double, float16, bfloat16",
               runtime::make_kernel<RandomUniformLike>());

}  // namespace kestrel::cpu
