// Gather (opsets 1+): picks slices of `data` along `axis` by int32/int64 indices; negative indices count from
// the end (spec'd from opset 11, accepted for all versions as ORT does).
#include "providers/cpu/kernels/onnx/data_movement.h"
#include "runtime/inline_shape.h"
#include "runtime/kernel_registry.h"
#include "runtime/unaligned_constants.h"

namespace kestrel::cpu {
namespace {

using runtime::Kernel;
using runtime::KernelContext;
using runtime::KernelInfo;
using runtime::make_kernel;

class Gather final : public Kernel, public runtime::ReadsConstantBytes {
 public:
  explicit Gather(const KernelInfo& info) : axis_(info.attr_int("axis", 0)) {}

  // Slices of `data` are copied with memcpy (copy_elements): a constant embedding table stays a view on the
  // model file's bytes, wherever they lie, and only the rows looked up are read.
  bool reads_constant_bytes(size_t input) const override { return input == 0; }

  void compute(KernelContext& ctx) const override {
    const Tensor& data = ctx.input(0);
    const Tensor& indices_t = ctx.input(1);
    const int64_t rank = static_cast<int64_t>(data.rank());
    if (rank == 0) ctx.fail("input 0 'data' must have rank >= 1, got a scalar");
    const int64_t axis = movement::normalize_axis(ctx, axis_, rank);
    // Indices read in place and the output shape built on the stack (when its rank fits): a run allocates nothing.
    if (indices_t.type() != ElementType::kInt64 && indices_t.type() != ElementType::kInt32)
      movement::read_ints(ctx, indices_t, "input 1 'indices'");  // reports the type
    const bool wide = indices_t.type() == ElementType::kInt64;
    const auto index_at = [&](int64_t k) -> int64_t {
      return wide ? indices_t.data<int64_t>()[k] : indices_t.data<int32_t>()[k];
    };
    const int64_t dim = data.dim(static_cast<size_t>(axis));

    // Output shape: data[:axis] + indices.shape + data[axis+1:].
    const size_t out_rank = data.rank() - 1 + indices_t.rank();
    runtime::InlineShape small;
    Shape large;
    auto add = [&](int64_t d) {
      if (out_rank <= runtime::InlineShape::kCapacity) small.push_back(d);
      else large.push_back(d);
    };
    for (int64_t d = 0; d < axis; ++d) add(data.dim(static_cast<size_t>(d)));
    for (int64_t d : indices_t.shape()) add(d);
    for (int64_t d = axis + 1; d < rank; ++d) add(data.dim(static_cast<size_t>(d)));
    Tensor& out = ctx.allocate_output_dims(
        0, data.type(), out_rank <= runtime::InlineShape::kCapacity ? small.span() : std::span<const int64_t>(large));

    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= data.dim(static_cast<size_t>(d));
    for (int64_t d = axis + 1; d < rank; ++d) inner *= data.dim(static_cast<size_t>(d));
    const int64_t n = indices_t.size();
    for (int64_t k = 0; k < n; ++k) {
      const int64_t idx = index_at(k);
      if (idx < -dim || idx >= dim)
        ctx.fail("index " + std::to_string(idx) + " is out of range [" + std::to_string(-dim) + ", " +
                 std::to_string(dim - 1) + "] for axis " + std::to_string(axis) + " of data shape " +
                 shape_to_string(data.shape()));
    }
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t k = 0; k < n; ++k) {
        int64_t idx = index_at(k);
        if (idx < 0) idx += dim;
        movement::copy_elements(data, (o * dim + idx) * inner, out, (o * n + k) * inner, inner);
      }
    }
  }

 private:
  int64_t axis_;
};

}  // namespace

KESTREL_KERNEL(Gather, "", 1, 10, "all", make_kernel<Gather>());
KESTREL_KERNEL(Gather, "", 11, 12, "all", make_kernel<Gather>());
KESTREL_KERNEL(Gather, "", 13, 1000, "all", make_kernel<Gather>());

}  // namespace kestrel::cpu
