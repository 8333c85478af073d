// QLinearAdd and QLinearMul (ai.kestrel, v1), made by the fuse_qdq_binary rule from a QDQ Add or Mul:
// inputs A, A_scale, A_zero_point, B, B_scale, B_zero_point, C_scale, C_zero_point (optional; zero points of
// A's and B's types, C's type is C_zero_point's, else A's), all scales and zero points one value each; A and
// B uint8/int8, broadcast (numpy). C = QuantizeLinear(DequantizeLinear(A) op DequantizeLinear(B)), each step
// in the spec's float operations: float(a - za) * sa, then op, then saturate(round_half_even(x / sc) + zc).
#pragma once

#include <cmath>
#include <string>

#include "providers/cpu/kernels/kestrel/quantized_scalars.h"
#include "providers/cpu/kernels/onnx/broadcast.h"
#include "providers/cpu/kernels/onnx/quantize.h"

namespace kestrel::cpu {

enum class QLinearBinaryOp { kAdd, kMul };

template <QLinearBinaryOp Op>
inline float apply_binary(float a, float b) {
  if constexpr (Op == QLinearBinaryOp::kAdd)
    return a + b;
  else
    return a * b;
}

// The scalar operands, checked.
struct QLinearBinaryParams {
  float a_scale = 1, b_scale = 1, c_scale = 1;
  int32_t a_zero = 0, b_zero = 0, c_zero = 0;
  ElementType c_type = ElementType::kUInt8;

  static QLinearBinaryParams read(const KernelContext& ctx) {
    const Tensor& A = ctx.input(0);
    const Tensor& B = ctx.input(3);
    if (!is_byte_type(A.type()) || !is_byte_type(B.type()))
      ctx.fail("A and B must be uint8 or int8, got " + std::string(element_type_name(A.type())) + " and " +
               element_type_name(B.type()));
    QLinearBinaryParams p;
    p.a_scale = scalar_scale(ctx, 1, "A_scale");
    p.b_scale = scalar_scale(ctx, 4, "B_scale");
    p.c_scale = scalar_scale(ctx, 6, "C_scale");
    p.a_zero = scalar_zero_point(ctx, 2, A.type(), "A_zero_point");
    p.b_zero = scalar_zero_point(ctx, 5, B.type(), "B_zero_point");
    const Tensor* c_zp = ctx.optional_input(7);
    p.c_type = c_zp ? c_zp->type() : A.type();
    if (!is_byte_type(p.c_type)) ctx.fail("C_zero_point must be uint8 or int8");
    p.c_zero = scalar_zero_point(ctx, 7, p.c_type, "C_zero_point");
    return p;
  }
};

// The reference: every output element from its broadcast A and B elements, in the spec's order.
template <QLinearBinaryOp Op>
class QLinearBinary final : public Kernel {
 public:
  explicit QLinearBinary(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const QLinearBinaryParams p = QLinearBinaryParams::read(ctx);
    const Tensor& A = ctx.input(0);
    const Tensor& B = ctx.input(3);
    const Shape out = broadcast_shapes(ctx, {&A.shape(), &B.shape()});
    Tensor& C = ctx.allocate_output(0, p.c_type, out);
    auto value = [](const Tensor& t, int64_t i, int32_t zero, float scale) {
      const int32_t q = t.type() == ElementType::kUInt8 ? t.data<uint8_t>()[i] : t.data<int8_t>()[i];
      return static_cast<float>(static_cast<int64_t>(q) - zero) * scale;
    };
    for_each_broadcast<2>(out, {&A.shape(), &B.shape()}, [&](int64_t o, const std::array<int64_t, 2>& in) {
      const float r =
          apply_binary<Op>(value(A, in[0], p.a_zero, p.a_scale), value(B, in[1], p.b_zero, p.b_scale));
      const float q = std::nearbyint(r / p.c_scale) + static_cast<float>(p.c_zero);
      if (p.c_type == ElementType::kUInt8)
        C.data<uint8_t>()[o] = saturate_round<uint8_t>(q);
      else
        C.data<int8_t>()[o] = saturate_round<int8_t>(q);
    });
  }
};

}  // namespace kestrel::cpu
