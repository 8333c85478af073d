// Fast Concat (opsets 4+, fixed-size element types): the same block copies as the reference, with the outer
// rows split over the session's threads when the output is large, as for the channel concatenations of
// channels-last CNNs (SqueezeNet's fire modules: one short block per pixel and input). Strings, and anything
// the reference would reject, go to the reference kernel.
#include <omp.h>

#include <cstring>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/fast/small_copy.h"
#include "runtime/inline_shape.h"

namespace kestrel::cpu {
namespace {

class FastConcat final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    const TypeInfo& t = info.input_type(0);
    if (t.kind != TypeInfo::Kind::kTensor || t.element_type == ElementType::kUndefined ||
        t.element_type == ElementType::kString)
      return nullptr;
    return std::make_unique<FastConcat>(info);
  }

  explicit FastConcat(const KernelInfo& info)
      : axis_(info.attr_int("axis")),
        reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    // Fixed-size tables keep a run free of heap allocations; wider concats take the reference kernel.
    constexpr size_t kMaxInputs = 64;
    const Tensor* inputs[kMaxInputs];
    size_t num_inputs = 0;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      if (!ctx.has_input(i)) continue;
      if (num_inputs == kMaxInputs) return reference_->compute(ctx);
      inputs[num_inputs++] = &ctx.input(i);
    }
    if (num_inputs == 0) return reference_->compute(ctx);
    const Tensor& first = *inputs[0];
    const int64_t rank = static_cast<int64_t>(first.rank());
    const int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
    if (rank == 0 || axis < 0 || axis >= rank || first.type() == ElementType::kString ||
        first.rank() > runtime::InlineShape::kCapacity)
      return reference_->compute(ctx);
    runtime::InlineShape out_shape(first.shape());
    out_shape[axis] = 0;
    for (size_t k = 0; k < num_inputs; ++k) {
      const Tensor* t = inputs[k];
      if (t->type() != first.type() || t->rank() != first.rank()) return reference_->compute(ctx);
      for (int64_t d = 0; d < rank; ++d)
        if (d != axis && t->dim(d) != first.dim(d)) return reference_->compute(ctx);
      out_shape[axis] += t->dim(axis);
    }
    Tensor& out = ctx.allocate_uninitialized_output_dims(0, first.type(), out_shape.span());  // the blocks tile it
    if (out.size() == 0) return;
    const size_t elem = element_size(first.type());
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= out_shape[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= out_shape[d];
    const size_t out_row = static_cast<size_t>(out_shape[axis] * inner) * elem;
    size_t offsets[kMaxInputs], sizes[kMaxInputs];
    size_t offset = 0;
    for (size_t k = 0; k < num_inputs; ++k) {
      offsets[k] = offset;
      sizes[k] = static_cast<size_t>(inputs[k]->dim(axis) * inner) * elem;
      offset += sizes[k];
    }
    auto* dst = static_cast<char*>(out.raw_data());
    const int threads = ctx.intra_op_threads();
    const int64_t count = static_cast<int64_t>(num_inputs);
    parallel_ranges(outer, threads, out.bytes() > (1u << 18), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o)
        for (int64_t k = 0; k < count; ++k)
          fast::copy_block(dst + o * out_row + offsets[k],
                           static_cast<const char*>(inputs[k]->raw_data()) + o * sizes[k], sizes[k]);
    });
  }

 private:
  int64_t axis_;
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(Concat, "", 4, 10, "all but string", 10, &FastConcat::create);
KESTREL_FAST_KERNEL(Concat, "", 11, 1000, "all but string", 10, &FastConcat::create);

}  // namespace kestrel::cpu
