// The scalar operands of Kestrel's QLinear ops (one float scale, one uint8/int8 zero point each), read and
// checked with a message naming the operand.
#pragma once

#include <cstdint>
#include <string>

#include "providers/cpu/kernels/onnx/nn_types.h"

namespace kestrel::cpu {

inline bool is_byte_type(ElementType t) { return t == ElementType::kUInt8 || t == ElementType::kInt8; }

// Input `i`, which must hold one float.
inline float scalar_scale(const KernelContext& ctx, size_t i, const char* name) {
  const Tensor& s = ctx.input(i);
  if (s.type() != ElementType::kFloat || s.size() != 1)
    ctx.fail(std::string(name) + " must be one float, got " + element_type_name(s.type()) + " " +
             shape_to_string(s.shape()));
  return *s.data<float>();
}

// Optional input `i`, which must hold one value of `type` (uint8 or int8); 0 when omitted.
inline int32_t scalar_zero_point(const KernelContext& ctx, size_t i, ElementType type, const char* name) {
  const Tensor* z = ctx.optional_input(i);
  if (!z) return 0;
  if (z->type() != type || z->size() != 1)
    ctx.fail(std::string(name) + " must be one " + element_type_name(type) + ", got " +
             element_type_name(z->type()) + " " + shape_to_string(z->shape()));
  return type == ElementType::kUInt8 ? *z->data<uint8_t>() : *z->data<int8_t>();
}

}  // namespace kestrel::cpu
