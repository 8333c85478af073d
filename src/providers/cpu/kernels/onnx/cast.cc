// Cast: converts a tensor to the element type named by the attribute `to` (opset 1: a type name string such
// as "FLOAT"; opset 6+: the TensorProto.DataType number). Strings from opset 9, bfloat16 from 13. The
// conversions themselves live in cast.h (shared with CastLike).
#include "providers/cpu/kernels/onnx/cast.h"

#include <string>

#include "runtime/kernel_registry.h"

namespace kestrel::cpu {
namespace {
using namespace elementwise;

// TensorProto.DataType names as opset-1 models spell them ("FLOAT", "INT64", ...), matched
// case-insensitively.
ElementType type_from_name(const std::string& name) {
  for (int32_t v = 1; v <= 16; ++v) {
    const auto t = static_cast<ElementType>(v);
    if (equals_ignore_case(name, element_type_name(t))) return t;
  }
  if (equals_ignore_case(name, "float32")) return ElementType::kFloat;
  if (equals_ignore_case(name, "float64")) return ElementType::kDouble;
  return ElementType::kUndefined;
}

class Cast final : public runtime::Kernel {
 public:
  explicit Cast(const runtime::KernelInfo& info) {
    const ir::Attribute* to = info.node().attribute("to");
    if (!to) info.fail("missing required attribute 'to'");
    if (to->type == ir::Attribute::Type::kString) {
      to_ = type_from_name(to->s);
      if (to_ == ElementType::kUndefined) info.fail("attribute 'to' names an unknown type \"" + to->s + "\"");
    } else {
      const int64_t v = info.attr_int("to");
      if (v < 0 || v > 1000 || !is_valid_element_type(static_cast<int32_t>(v)))
        info.fail("attribute 'to' = " + std::to_string(v) + " is not a tensor element type Kestrel knows");
      to_ = static_cast<ElementType>(v);
    }
    if (to_ == ElementType::kComplex64 || to_ == ElementType::kComplex128)
      info.fail(std::string("casting to ") + element_type_name(to_) + " is not supported by the spec");
    options_.truncate_bfloat16 = info.opset() >= 13 && info.opset() <= 18;
  }

  void compute(runtime::KernelContext& ctx) const override {
    const Tensor& in = ctx.input(0);
    if (in.type() == ElementType::kString || to_ == ElementType::kString) {
      ctx.set_output(0, cast_tensor(ctx, in, to_, options_));
      return;
    }
    // Written where the runtime puts output 0 (a kept frame tensor, or a caller's bound buffer): no allocation.
    cast_into(ctx, in, ctx.allocate_uninitialized_output_dims(0, to_, in.shape()), options_);
  }

 private:
  ElementType to_ = ElementType::kUndefined;
  CastOptions options_;
};

}  // namespace

KESTREL_KERNEL(Cast, "", 1, 5,
               "float16, float, double, int8, int16, int32, int64, uint8, uint16, uint32, uint64, bool",
               runtime::make_kernel<Cast>());
KESTREL_KERNEL(Cast, "", 6, 8,
               "float16, float, double, int8, int16, int32, int64, uint8, uint16, uint32, uint64, bool",
               runtime::make_kernel<Cast>());
KESTREL_KERNEL(
    Cast, "", 9, 12,
    "float16, float, double, int8, int16, int32, int64, uint8, uint16, uint32, uint64, bool, string",
    runtime::make_kernel<Cast>());
KESTREL_KERNEL(
    Cast, "", 13, 1000,
    "float16, float, double, int8, int16, int32, int64, uint8, uint16, uint32, uint64, bool, string, "
    "bfloat16",
    runtime::make_kernel<Cast>());

}  // namespace kestrel::cpu
