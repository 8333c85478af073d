// RandomUniform (opset 1): a tensor of the `shape` attribute drawn from U[low, high). Seeding in random.h.
#include "providers/cpu/kernels/onnx/random.h"

namespace kestrel::cpu {
namespace {

using namespace rng;  // NOLINT: the shared helpers of this op family

class RandomUniform : public runtime::Kernel {
 public:
  explicit RandomUniform(const runtime::KernelInfo& info)
      : seed_(info),
        dtype_(random_float_dtype(info, ElementType::kFloat)),
        low_(info.attr_float("low", 0.0f)),
        high_(info.attr_float("high", 1.0f)),
        shape_(info.attr_ints("shape")) {
    for (int64_t d : shape_)
      if (d < 0) info.fail("attribute 'shape': expected non-negative dims, got " + shape_to_string(shape_));
    if (!(high_ >= low_))
      info.fail("expected low <= high, got " + std::to_string(low_) + " > " + std::to_string(high_));
  }

  void compute(runtime::KernelContext& ctx) const override {
    auto engine = seed_.engine();
    fill_random(ctx.allocate_output(0, dtype_, shape_), std::uniform_real_distribution<double>(low_, high_),
                engine, "RandomUniform", exclusive_high());
  }

 private:
  // high is excluded unless the range is a single point.
  std::optional<double> exclusive_high() const {
    return low_ < high_ ? std::optional<double>(high_) : std::nullopt;
  }

  RandomSeed seed_;
  ElementType dtype_;
  double low_, high_;
  Shape shape_;
};

}  // namespace

KESTREL_KERNEL(RandomUniform, "", 1, 1000, "float, double, float16, bfloat16",
               runtime::make_kernel<RandomUniform>());

}  // namespace kestrel::cpu
