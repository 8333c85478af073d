// Squeeze (opsets 1-12: optional `axes` attribute; 13+: optional `axes` input). Without axes every dim of
// size 1 is removed; a listed axis whose dim is not 1 is an error.
#include "providers/cpu/kernels/onnx/data_movement.h"
#include "runtime/kernel_registry.h"

namespace kestrel::cpu {
namespace {

using runtime::Kernel;
using runtime::KernelContext;
using runtime::KernelInfo;
using runtime::make_kernel;

class Squeeze final : public Kernel {
 public:
  explicit Squeeze(const KernelInfo& info) : opset_(info.opset()) {
    if (opset_ < 13) {
      has_axes_ = info.has_attr("axes");
      if (has_axes_) axes_ = info.attr_ints("axes");
    }
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& data = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(data.rank());
    bool has_axes = has_axes_;
    std::vector<int64_t> axes = axes_;
    if (opset_ >= 13 && ctx.has_input(1)) {
      has_axes = true;
      axes = movement::read_ints(ctx, ctx.input(1), "input 1 'axes'");
    }
    std::vector<bool> drop(static_cast<size_t>(rank), false);
    if (has_axes) {
      for (int64_t a : axes) {
        const int64_t axis = movement::normalize_axis(ctx, a, rank);
        if (data.dim(static_cast<size_t>(axis)) != 1)
          ctx.fail("cannot squeeze axis " + std::to_string(a) + " of input shape " +
                   shape_to_string(data.shape()) + ": its size is not 1");
        drop[static_cast<size_t>(axis)] = true;
      }
    } else {
      for (int64_t d = 0; d < rank; ++d) drop[static_cast<size_t>(d)] = data.dim(static_cast<size_t>(d)) == 1;
    }
    Shape out_shape;
    for (int64_t d = 0; d < rank; ++d)
      if (!drop[static_cast<size_t>(d)]) out_shape.push_back(data.dim(static_cast<size_t>(d)));
    ctx.set_output(0, movement::reshaped_output(ctx, data, out_shape));
  }

 private:
  int opset_;
  bool has_axes_ = false;
  std::vector<int64_t> axes_;
};

}  // namespace

KESTREL_KERNEL(Squeeze, "", 1, 10, "all", make_kernel<Squeeze>());
KESTREL_KERNEL(Squeeze, "", 11, 12, "all", make_kernel<Squeeze>());
KESTREL_KERNEL(Squeeze, "", 13, 1000, "all", make_kernel<Squeeze>());

}  // namespace kestrel::cpu
