// Flatten (opset 1: float types; 9: all types; 11+: negative axis).
#include "providers/cpu/kernels/onnx/data_movement.h"
#include "runtime/kernel_registry.h"

namespace kestrel::cpu {
namespace {

using runtime::Kernel;
using runtime::KernelContext;
using runtime::KernelInfo;
using runtime::make_kernel;

class Flatten final : public Kernel {
 public:
  explicit Flatten(const KernelInfo& info) : axis_(info.attr_int("axis", 1)), opset_(info.opset()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& data = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(data.rank());
    int64_t axis = axis_;
    // Axis range is [-r, r]; negative values are allowed from opset 11 on.
    if (axis > rank || axis < -rank || (axis < 0 && opset_ < 11))
      ctx.fail("axis " + std::to_string(axis_) + " is out of range for input of rank " +
               std::to_string(rank));
    if (axis < 0) axis += rank;
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= data.dim(static_cast<size_t>(i));
    const int64_t shape[2] = {outer, inner};
    movement::set_reshaped_output(ctx, data, shape);
  }

 private:
  int64_t axis_;
  int opset_;
};

}  // namespace

KESTREL_KERNEL(Flatten, "", 1, 8, "float, double, float16", make_kernel<Flatten>());
KESTREL_KERNEL(Flatten, "", 9, 10, "all", make_kernel<Flatten>());
KESTREL_KERNEL(Flatten, "", 11, 1000, "all", make_kernel<Flatten>());

}  // namespace kestrel::cpu
