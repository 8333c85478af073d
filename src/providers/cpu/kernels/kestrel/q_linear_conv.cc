// QLinearConv (ai.kestrel, v1): ONNX QLinearConv's inputs and attributes plus `channels_last`; with
// `channels_last` = 1 (made by the layout_nhwc rule, 2-D only) X and Y are NHWC while W stays [M, C/group,
// kH, kW], so chains of quantized convolutions pass int8 NHWC tensors with no reorder in between. Optional
// input 9, `x_table` (a QuantizedLookup's 256-entry table, made by the fuse_lookup_into_conv rule): the
// convolution reads table[X] instead of X (x_zero_point is then of the table's type). This reference runs the
// ONNX computation on permuted copies.
#include "providers/cpu/kernels/onnx/q_linear_conv.h"

#include "providers/cpu/kernels/kestrel/channels_last.h"

namespace kestrel::cpu {
namespace {

class ChannelsLastQLinearConv final : public Kernel {
 public:
  explicit ChannelsLastQLinearConv(const KernelInfo& info)
      : attrs_(WindowAttrs::parse(info, false)),
        group_(info.attr_int("group", 1)),
        channels_last_(info.attr_int("channels_last", 0) != 0) {}

  void compute(KernelContext& ctx) const override {
    const Tensor* table = ctx.optional_input(9);
    const Tensor looked_up = table ? apply_table(ctx, ctx.input(0), *table) : Tensor();
    const Tensor& X = table ? looked_up : ctx.input(0);
    if (!channels_last_) return write(ctx, q_linear_conv_nchw(ctx, X, attrs_, group_));
    if (X.rank() != 4) ctx.fail("channels_last needs a 4-D X, got " + shape_to_string(X.shape()));
    Tensor x_nchw(X.type(), permuted_shape(X.shape(), true));
    permute_4d(X, x_nchw, true);
    const Tensor y_nchw = q_linear_conv_nchw(ctx, x_nchw, attrs_, group_);
    Tensor& Y = ctx.allocate_output(0, y_nchw.type(), permuted_shape(y_nchw.shape(), false));
    permute_4d(y_nchw, Y, false);
  }

 private:
  // table[X] elementwise, indexed by X's storage order as QuantizedLookup does, of the table's type.
  static Tensor apply_table(const KernelContext& ctx, const Tensor& X, const Tensor& table) {
    auto byte_type = [](ElementType t) { return t == ElementType::kUInt8 || t == ElementType::kInt8; };
    if (!byte_type(X.type())) ctx.fail("X must be uint8 or int8, got " + std::string(element_type_name(X.type())));
    if (!byte_type(table.type()) || table.rank() != 1 || table.size() != 256)
      ctx.fail("x_table must be a uint8 or int8 tensor of shape [256], got " +
               std::string(element_type_name(table.type())) + " " + shape_to_string(table.shape()));
    Tensor y(table.type(), X.shape());
    const auto* x = static_cast<const uint8_t*>(X.raw_data());
    const auto* t = static_cast<const uint8_t*>(table.raw_data());
    auto* out = static_cast<uint8_t*>(y.raw_data());
    const uint8_t flip = X.type() == ElementType::kInt8 ? 0x80 : 0;  // int8 v sits at v + 128
    for (int64_t i = 0; i < X.size(); ++i) out[i] = t[x[i] ^ flip];
    return y;
  }

  static void write(KernelContext& ctx, const Tensor& y) {
    Tensor& Y = ctx.allocate_output(0, y.type(), y.shape());
    if (y.bytes()) std::memcpy(Y.raw_data(), y.raw_data(), y.bytes());
  }

  WindowAttrs attrs_;
  int64_t group_;
  bool channels_last_;
};

}  // namespace

KESTREL_KERNEL(QLinearConv, "ai.kestrel", 1, 1000, "uint8, int8", make_kernel<ChannelsLastQLinearConv>());

}  // namespace kestrel::cpu
