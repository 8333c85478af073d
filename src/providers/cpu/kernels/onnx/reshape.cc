// Reshape (opsets 1-4 with the `shape` attribute, 5+ with the shape input, 14+ with allowzero).
#include "providers/cpu/kernels/checked_math.h"
#include "providers/cpu/kernels/onnx/data_movement.h"
#include "runtime/kernel_registry.h"

namespace kestrel::cpu {
namespace {

using runtime::Kernel;
using runtime::KernelContext;
using runtime::KernelInfo;
using runtime::make_kernel;

class Reshape final : public Kernel {
 public:
  explicit Reshape(const KernelInfo& info) : opset_(info.opset()) {
    if (opset_ < 5) {
      // Opset 1-4: the target shape is an attribute; `consumed_inputs` (opset 1) is ignored.
      shape_attr_ = info.attr_ints("shape", {});
    } else if (!info.has_input(1)) {
      info.fail("missing the 'shape' input");
    }
    allow_zero_ = opset_ >= 14 && info.attr_int("allowzero", 0) != 0;
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& data = ctx.input(0);
    std::vector<int64_t> requested =
        opset_ < 5 ? shape_attr_ : movement::read_ints(ctx, ctx.input(1), "input 1 'shape'");
    if (opset_ >= 5 && ctx.input(1).rank() != 1)
      ctx.fail("input 1 'shape' must be 1-D, got shape " + shape_to_string(ctx.input(1).shape()));
    Shape out(requested.size());
    int64_t infer_at = -1;
    int64_t known = 1;
    bool has_zero = false;
    for (size_t i = 0; i < requested.size(); ++i) {
      int64_t d = requested[i];
      if (d == -1) {
        if (infer_at >= 0) ctx.fail("shape " + shape_to_string(requested) + " has more than one -1");
        infer_at = static_cast<int64_t>(i);
        continue;
      }
      if (d < -1)
        ctx.fail("shape " + shape_to_string(requested) + " has an invalid dimension " + std::to_string(d));
      if (d == 0) {
        has_zero = true;
        if (!allow_zero_) {
          // Spec: 0 copies the input's dimension at the same index.
          if (i >= data.rank())
            ctx.fail("shape " + shape_to_string(requested) + " has 0 at index " + std::to_string(i) +
                     " but the input " + shape_to_string(data.shape()) + " has no such dimension");
          d = data.dim(i);
        }
      }
      out[i] = d;
      known = checked_mul(ctx, known, d, "the product of shape " + shape_to_string(requested));
    }
    if (allow_zero_ && has_zero && infer_at >= 0)
      ctx.fail("shape " + shape_to_string(requested) + " has both 0 and -1 while allowzero=1");
    if (infer_at >= 0) {
      if (known == 0 || data.size() % known != 0)
        ctx.fail("cannot infer the -1 dimension of shape " + shape_to_string(requested) +
                 " for input shape " + shape_to_string(data.shape()));
      out[infer_at] = data.size() / known;
    }
    if (shape_size(out) != data.size())
      ctx.fail("cannot reshape input of shape " + shape_to_string(data.shape()) + " (" +
               std::to_string(data.size()) + " elements) to " + shape_to_string(out));
    ctx.set_output(0, movement::reshaped_output(ctx, data, out));
  }

 private:
  int opset_;
  std::vector<int64_t> shape_attr_;
  bool allow_zero_ = false;
};

}  // namespace

KESTREL_KERNEL(Reshape, "", 1, 4, "float, double, float16", make_kernel<Reshape>());
KESTREL_KERNEL(Reshape, "", 5, 13, "all", make_kernel<Reshape>());
KESTREL_KERNEL(Reshape, "", 14, 1000, "all", make_kernel<Reshape>());

}  // namespace kestrel::cpu
