// Concat (opset 1: axis defaults to 1; 4+: axis required; 11+: negative axis).
#include "providers/cpu/kernels/onnx/data_movement.h"
#include "runtime/kernel_registry.h"

namespace kestrel::cpu {
namespace {

using runtime::Kernel;
using runtime::KernelContext;
using runtime::KernelInfo;
using runtime::make_kernel;

class Concat final : public Kernel {
 public:
  explicit Concat(const KernelInfo& info) {
    if (info.opset() < 4)
      axis_ = info.attr_int("axis", 1);
    else
      axis_ = info.attr_int("axis");
  }

  void compute(KernelContext& ctx) const override {
    std::vector<const Tensor*> inputs;
    for (size_t i = 0; i < ctx.num_inputs(); ++i)
      if (ctx.has_input(i)) inputs.push_back(&ctx.input(i));
    if (inputs.empty()) ctx.fail("needs at least one input");
    const Tensor& first = *inputs[0];
    const int64_t rank = static_cast<int64_t>(first.rank());
    if (rank == 0) ctx.fail("cannot concatenate scalars (input 0 has rank 0)");
    const int64_t axis = movement::normalize_axis(ctx, axis_, rank);
    Shape out_shape = first.shape();
    out_shape[static_cast<size_t>(axis)] = 0;
    for (size_t k = 0; k < inputs.size(); ++k) {
      const Tensor& t = *inputs[k];
      if (t.type() != first.type())
        ctx.fail("input " + std::to_string(k) + " has type " + element_type_name(t.type()) + ", expected " +
                 element_type_name(first.type()));
      bool ok = t.rank() == first.rank();
      for (int64_t d = 0; ok && d < rank; ++d)
        if (d != axis && t.dim(static_cast<size_t>(d)) != first.dim(static_cast<size_t>(d))) ok = false;
      if (!ok)
        ctx.fail("input " + std::to_string(k) + " has shape " + shape_to_string(t.shape()) +
                 ", incompatible with input 0 of shape " + shape_to_string(first.shape()) + " on axis " +
                 std::to_string(axis));
      out_shape[static_cast<size_t>(axis)] += t.dim(static_cast<size_t>(axis));
    }
    // The inputs' blocks tile the output, so every element is written.
    Tensor& out = ctx.allocate_uninitialized_output(0, first.type(), out_shape);
    // Each input contributes a block of dim(axis) * inner elements per outer index.
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= out_shape[static_cast<size_t>(d)];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= out_shape[static_cast<size_t>(d)];
    const int64_t out_block = out_shape[static_cast<size_t>(axis)] * inner;
    int64_t offset = 0;
    for (const Tensor* t : inputs) {
      const int64_t block = t->dim(static_cast<size_t>(axis)) * inner;
      for (int64_t o = 0; o < outer; ++o)
        movement::copy_elements(*t, o * block, out, o * out_block + offset, block);
      offset += block;
    }
  }

 private:
  int64_t axis_ = 1;
};

}  // namespace

KESTREL_KERNEL(Concat, "", 1, 3, "float, double, float16", make_kernel<Concat>());
KESTREL_KERNEL(Concat, "", 4, 10, "all", make_kernel<Concat>());
KESTREL_KERNEL(Concat, "", 11, 1000, "all", make_kernel<Concat>());

}  // namespace kestrel::cpu
