// Identity (opsets 1+; 14 adds sequences, 16 optionals): its input, whatever kind of value it is; a numeric tensor
// is shared (a view) where the runtime allows it, everything else is copied.
#include "providers/cpu/kernels/onnx/data_movement.h"
#include "runtime/kernel_registry.h"

namespace kestrel::cpu {
namespace {

using runtime::Kernel;
using runtime::KernelContext;
using runtime::KernelInfo;
using runtime::make_kernel;

class Identity final : public Kernel {
 public:
  explicit Identity(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const Value& in = ctx.input_value(0);
    // Graph outputs get deep copies: the caller may keep or modify them.
    if (in.is_tensor()) {
      const Tensor& t = in.tensor();
      ctx.set_output(0, ctx.may_alias_output(0) && t.type() != ElementType::kString ? t : t.clone());
    } else if (in.is_sequence()) {
      std::vector<Tensor> items;
      items.reserve(in.items().size());
      for (const Tensor& t : in.items()) items.push_back(t.clone());
      ctx.set_output(0, Value::sequence(in.sequence_type(), std::move(items)));
    } else {
      ctx.set_output(0, Value());  // an empty optional stays empty
    }
  }
};

}  // namespace

KESTREL_KERNEL(Identity, "", 1, 13, "all", make_kernel<Identity>());
KESTREL_KERNEL(Identity, "", 14, 15, "all, sequences", make_kernel<Identity>());
KESTREL_KERNEL(Identity, "", 16, 1000, "all, sequences, optionals", make_kernel<Identity>());

}  // namespace kestrel::cpu
