// QuantizedLookup (ai.kestrel, v1): Y = table[X] elementwise, X uint8 or int8, table a 256-entry uint8/int8
// (or float) tensor indexed by X's storage order (uint8 0..255; int8 -128..127 at 0..255), Y of the table's
// type and X's shape. Made by the fuse_quantized_lookup rule from an elementwise computation between QDQ
// nodes (SiLU, HardSwish, a requantization...), whose 256 possible results it holds, and with a float table
// by the fuse_dequantize_lookup rule from a DequantizeLinear and the float activations after it.
#include "providers/cpu/kernels/onnx/nn_types.h"

namespace kestrel::cpu {
namespace {

class QuantizedLookup final : public Kernel {
 public:
  explicit QuantizedLookup(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const Tensor& table = ctx.input(1);
    check(ctx, X, table);
    Tensor& Y = ctx.allocate_uninitialized_output(0, table.type(), X.shape());  // all written
    const uint8_t* x = static_cast<const uint8_t*>(X.raw_data());
    const uint8_t flip = X.type() == ElementType::kInt8 ? 0x80 : 0;  // int8 v sits at v + 128
    if (table.type() == ElementType::kFloat) {
      const float* t = table.data<float>();
      float* y = Y.data<float>();
      for (int64_t i = 0; i < X.size(); ++i) y[i] = t[x[i] ^ flip];
      return;
    }
    const uint8_t* t = static_cast<const uint8_t*>(table.raw_data());
    uint8_t* y = static_cast<uint8_t*>(Y.raw_data());
    for (int64_t i = 0; i < X.size(); ++i) y[i] = t[x[i] ^ flip];
  }

  static void check(const KernelContext& ctx, const Tensor& X, const Tensor& table) {
    auto byte_type = [](ElementType t) { return t == ElementType::kUInt8 || t == ElementType::kInt8; };
    if (!byte_type(X.type()))
      ctx.fail("X must be uint8 or int8, got " + std::string(element_type_name(X.type())));
    const bool table_type = byte_type(table.type()) || table.type() == ElementType::kFloat;
    if (!table_type || table.rank() != 1 || table.size() != 256)
      ctx.fail("table must be a uint8, int8 or float tensor of shape [256], got " +
               std::string(element_type_name(table.type())) + " " + shape_to_string(table.shape()));
  }
};

}  // namespace

KESTREL_KERNEL(QuantizedLookup, "ai.kestrel", 1, 1000, "uint8, int8", make_kernel<QuantizedLookup>());

}  // namespace kestrel::cpu
