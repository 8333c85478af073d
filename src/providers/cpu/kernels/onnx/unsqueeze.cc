// Unsqueeze (opsets 1-12: `axes` attribute; 13+: `axes` input). Axes index the output; negative from
// opset 11.
#include <algorithm>

#include "providers/cpu/kernels/onnx/data_movement.h"
#include "runtime/inline_shape.h"
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
    // The axes are read in place and the output shape built on the stack (when its rank fits), so a run
    // allocates nothing.
    const Tensor* axes = opset_ < 13 ? nullptr : &ctx.input(1);
    if (axes && axes->type() != ElementType::kInt64 && axes->type() != ElementType::kInt32)
      movement::read_ints(ctx, *axes, "input 1 'axes'");  // reports the type
    const size_t count = axes ? static_cast<size_t>(axes->size()) : axes_.size();
    const auto axis_at = [&](size_t i) -> int64_t {
      if (!axes) return axes_[i];
      return axes->type() == ElementType::kInt64 ? axes->data<int64_t>()[i] : axes->data<int32_t>()[i];
    };
    if (data.rank() + count <= runtime::InlineShape::kCapacity) {
      runtime::InlineShape out;
      output_shape(ctx, data, count, axis_at, out);
      movement::set_reshaped_output(ctx, data, out.span());
    } else {
      Shape out;
      output_shape(ctx, data, count, axis_at, out);
      movement::set_reshaped_output(ctx, data, out);
    }
  }

 private:
  // `data`'s shape with a 1 inserted at each of the `count` axes (output indices) axis_at(i).
  template <typename AxisAt, typename Out>
  static void output_shape(const KernelContext& ctx, const Tensor& data, size_t count, const AxisAt& axis_at,
                           Out& out) {
    const int64_t out_rank = static_cast<int64_t>(data.rank() + count);
    for (size_t i = 0; i < count; ++i) {
      const int64_t axis = movement::normalize_axis(ctx, axis_at(i), out_rank);
      for (size_t j = 0; j < i; ++j)
        if (movement::normalize_axis(ctx, axis_at(j), out_rank) == axis) {
          Shape all;
          for (size_t k = 0; k < count; ++k) all.push_back(axis_at(k));
          ctx.fail("axes " + shape_to_string(all) + " repeat axis " + std::to_string(axis));
        }
    }
    size_t next = 0;
    for (int64_t d = 0; d < out_rank; ++d) {
      bool is_new = false;
      for (size_t i = 0; i < count; ++i) is_new = is_new || movement::normalize_axis(ctx, axis_at(i), out_rank) == d;
      out.push_back(is_new ? 1 : data.dim(next++));
    }
  }

  int opset_;
  std::vector<int64_t> axes_;
};

}  // namespace

KESTREL_KERNEL(Unsqueeze, "", 1, 10, "all", make_kernel<Unsqueeze>());
KESTREL_KERNEL(Unsqueeze, "", 11, 12, "all", make_kernel<Unsqueeze>());
KESTREL_KERNEL(Unsqueeze, "", 13, 1000, "all", make_kernel<Unsqueeze>());

}  // namespace kestrel::cpu
