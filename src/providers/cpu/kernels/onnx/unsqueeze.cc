// Unsqueeze (opsets 1-12: `axes` attribute; 13+: `axes` input). Axes index the output; negative from
// opset 11.
#include <algorithm>

#include "providers/cpu/kernels/onnx/data_movement.h"
#include "runtime/kernel_registry.h"

namespace kestrel::cpu {
namespace {

using runtime::Kernel;
using runtime::KernelContext;
using runtime::KernelInfo;
using runtime::make_kernel;

class Unsqueeze final : public Kernel {
 public:
  explicit Unsqueeze(const KernelInfo& info) : opset_(info.opset()) {
    if (opset_ < 13)
      axes_ = info.attr_ints("axes");
    else if (!info.has_input(1))
      info.fail("missing the 'axes' input");
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& data = ctx.input(0);
    const std::vector<int64_t> axes =
        opset_ < 13 ? axes_ : movement::read_ints(ctx, ctx.input(1), "input 1 'axes'");
    const int64_t out_rank = static_cast<int64_t>(data.rank() + axes.size());
    std::vector<bool> is_new(static_cast<size_t>(out_rank), false);
    for (int64_t a : axes) {
      const int64_t axis = movement::normalize_axis(ctx, a, out_rank);
      if (is_new[static_cast<size_t>(axis)])
        ctx.fail("axes " + shape_to_string(axes) + " repeat axis " + std::to_string(axis));
      is_new[static_cast<size_t>(axis)] = true;
    }
    Shape out_shape;
    size_t next = 0;
    for (int64_t d = 0; d < out_rank; ++d)
      out_shape.push_back(is_new[static_cast<size_t>(d)] ? 1 : data.dim(next++));
    ctx.set_output(0, movement::reshaped_output(ctx, data, out_shape));
  }

 private:
  int opset_;
  std::vector<int64_t> axes_;
};

}  // namespace

KESTREL_KERNEL(Unsqueeze, "", 1, 10, "all", make_kernel<Unsqueeze>());
KESTREL_KERNEL(Unsqueeze, "", 11, 12, "all", make_kernel<Unsqueeze>());
KESTREL_KERNEL(Unsqueeze, "", 13, 1000, "all", make_kernel<Unsqueeze>());

}  // namespace kestrel::cpu
