// Split (opset 1: `split` attribute or second input; 2-12: attribute; 13+: optional input; 18+: num_outputs).
// Without explicit lengths the axis is cut in equal parts (from 18, num_outputs may leave a smaller last
// part).
#include "providers/cpu/kernels/onnx/data_movement.h"
#include "runtime/kernel_registry.h"

namespace kestrel::cpu {
namespace {

using runtime::Kernel;
using runtime::KernelContext;
using runtime::KernelInfo;
using runtime::make_kernel;

class Split final : public Kernel {
 public:
  explicit Split(const KernelInfo& info) : opset_(info.opset()), axis_(info.attr_int("axis", 0)) {
    if (opset_ < 13 && info.has_attr("split")) {
      has_split_attr_ = true;
      split_attr_ = info.attr_ints("split");
    }
    if (opset_ >= 18 && info.has_attr("num_outputs")) {
      num_outputs_ = info.attr_int("num_outputs");
      if (num_outputs_ < 1) info.fail("num_outputs must be >= 1, got " + std::to_string(num_outputs_));
      if (info.has_input(1)) info.fail("has both the 'split' input and the num_outputs attribute");
      if (num_outputs_ != static_cast<int64_t>(info.num_outputs()))
        info.fail("num_outputs is " + std::to_string(num_outputs_) + " but the node has " +
                  std::to_string(info.num_outputs()) + " outputs");
    }
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& data = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(data.rank());
    if (rank == 0) ctx.fail("cannot split a scalar");
    const int64_t axis = movement::normalize_axis(ctx, axis_, rank);
    const int64_t dim = data.dim(static_cast<size_t>(axis));
    const int64_t n_out = static_cast<int64_t>(ctx.num_outputs());

    std::vector<int64_t> split;
    if (has_split_attr_) {
      split = split_attr_;
    } else if ((opset_ == 1 || opset_ >= 13) && ctx.has_input(1)) {
      split = movement::read_ints(ctx, ctx.input(1), "input 1 'split'");
    } else if (num_outputs_ > 0) {
      // Opset 18: ceil(dim / n) per output, the last one taking what is left.
      const int64_t chunk = (dim + num_outputs_ - 1) / num_outputs_;
      int64_t left = dim;
      for (int64_t i = 0; i < num_outputs_; ++i) {
        split.push_back(std::min(chunk, left));
        left -= split.back();
      }
    } else {
      if (dim % n_out != 0)
        ctx.fail("cannot split axis " + std::to_string(axis) + " of size " + std::to_string(dim) + " into " +
                 std::to_string(n_out) + " equal parts");
      split.assign(static_cast<size_t>(n_out), dim / n_out);
    }
    if (static_cast<int64_t>(split.size()) != n_out)
      ctx.fail("split " + shape_to_string(split) + " has " + std::to_string(split.size()) +
               " lengths but the node has " + std::to_string(n_out) + " outputs");
    int64_t total = 0;
    for (int64_t s : split) {
      if (s < 0) ctx.fail("split " + shape_to_string(split) + " has a negative length");
      // total <= dim holds here, so the comparison cannot overflow where the sum could.
      if (s > dim - total)
        ctx.fail("split " + shape_to_string(split) + " sums to more than the " + std::to_string(dim) +
                 " elements of axis " + std::to_string(axis));
      total += s;
    }
    if (total != dim)
      ctx.fail("split " + shape_to_string(split) + " sums to " + std::to_string(total) + " but axis " +
               std::to_string(axis) + " has size " + std::to_string(dim));

    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= data.dim(static_cast<size_t>(d));
    for (int64_t d = axis + 1; d < rank; ++d) inner *= data.dim(static_cast<size_t>(d));
    int64_t offset = 0;
    for (int64_t i = 0; i < n_out; ++i) {
      const int64_t len = split[static_cast<size_t>(i)];
      if (ctx.has_output(static_cast<size_t>(i))) {
        Shape shape = data.shape();
        shape[static_cast<size_t>(axis)] = len;
        Tensor& out = ctx.allocate_output(static_cast<size_t>(i), data.type(), shape);
        for (int64_t o = 0; o < outer; ++o)
          movement::copy_elements(data, (o * dim + offset) * inner, out, o * len * inner, len * inner);
      }
      offset += len;
    }
  }

 private:
  int opset_;
  int64_t axis_;
  bool has_split_attr_ = false;
  std::vector<int64_t> split_attr_;
  int64_t num_outputs_ = 0;
};

}  // namespace

KESTREL_KERNEL(Split, "", 1, 1, "float, double, float16", make_kernel<Split>());
KESTREL_KERNEL(Split, "", 2, 10, "all", make_kernel<Split>());
KESTREL_KERNEL(Split, "", 11, 12, "all", make_kernel<Split>());
KESTREL_KERNEL(Split, "", 13, 17, "all", make_kernel<Split>());
KESTREL_KERNEL(Split, "", 18, 1000, "all", make_kernel<Split>());

}  // namespace kestrel::cpu
