// The one reference kernel behind every elementwise unary op (Abs, Exp, Relu, IsNaN, ...) plus the numeric
// helpers all elementwise kernels share: type lists, the compute type of 16-bit floats, wrapping integer
// arithmetic.
//
// An op is a functor: `using Types = TypeList<...>` (the element types it accepts), an optional constructor
// from the KernelInfo (to read attributes), and `template <typename C> R operator()(C x) const` called with x
// converted to compute_t<T>. R == bool gives a bool output (IsNaN); anything else is converted back to T.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "kestrel/tensor.h"
#include "providers/cpu/kernels/dispatch.h"
#include "runtime/kernel.h"

namespace kestrel::cpu::elementwise {

template <typename... Ts>
struct TypeList {};

// dispatch<Ts...> over a TypeList.
template <typename List>
struct Dispatcher;
template <typename... Ts>
struct Dispatcher<TypeList<Ts...>> {
  template <typename F, typename W>
  static void run(ElementType type, F&& f, const W& what) {
    dispatch<Ts...>(type, std::forward<F>(f), what);
  }
};

using FloatTypes = TypeList<float, double, Float16, BFloat16>;
using SignedTypes = TypeList<float, double, Float16, BFloat16, int8_t, int16_t, int32_t, int64_t>;
using NumericTypes = TypeList<float, double, Float16, BFloat16, int8_t, int16_t, int32_t, int64_t, uint8_t,
                              uint16_t, uint32_t, uint64_t>;
using IntegerTypes = TypeList<int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t>;
using UnsignedTypes = TypeList<uint8_t, uint16_t, uint32_t, uint64_t>;
using BoolTypes = TypeList<bool>;

template <typename T>
inline constexpr bool is_half_v = std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;
template <typename T>
inline constexpr bool is_float_v = std::is_floating_point_v<T> || is_half_v<T>;

// 16-bit floats are computed in float (one rounding back per op, as numpy does for float16); others in
// themselves.
template <typename T>
using compute_t = std::conditional_t<is_half_v<T>, float, T>;

template <typename T>
compute_t<T> to_compute(T v) {
  return static_cast<compute_t<T>>(v);
}
template <typename T, typename C>
T from_compute(C v) {
  if constexpr (is_half_v<T>)
    return T(static_cast<float>(v));
  else
    return static_cast<T>(v);
}

// Integer arithmetic that wraps modulo 2^n instead of overflowing (signed overflow is undefined in C++; numpy
// and ONNX Runtime wrap). int8/int16 promote to int and are narrowed back, which C++20 defines as modular.
template <typename T>
T wrap_add(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
}
template <typename T>
T wrap_sub(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
}
template <typename T>
T wrap_mul(T a, T b) {
  using U = std::make_unsigned_t<T>;
  // Multiply in at least unsigned int so that uint16*uint16 does not promote to (overflowing) signed int.
  using W = std::conditional_t<(sizeof(U) < sizeof(unsigned)), unsigned, U>;
  return static_cast<T>(
      static_cast<U>(static_cast<W>(static_cast<U>(a)) * static_cast<W>(static_cast<U>(b))));
}
template <typename T>
T wrap_neg(T a) {
  return wrap_sub(T{0}, a);
}

// Floating-point to integer conversion with a defined result for every input: truncates toward zero, NaN
// gives 0, values beyond int64 saturate, and the int64 is then narrowed modulo 2^n as C++ defines for
// integers (so -1.0 -> uint8 255, as numpy gives on x86). uint64 keeps its full non-negative range. (A plain
// static_cast is undefined behaviour out of range.)
template <typename T>
T float_to_int(double v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0;  // NaN is true, as in C++ and numpy
  } else {
    if (std::isnan(v)) return T{0};
    if constexpr (std::is_same_v<T, uint64_t>) {
      if (v >= 0)
        return v >= 18446744073709551616.0 ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(v);
    }
    const double t = std::trunc(v);
    const int64_t i = t < -9223372036854775808.0   ? std::numeric_limits<int64_t>::min()
                      : t >= 9223372036854775808.0 ? std::numeric_limits<int64_t>::max()
                                                   : static_cast<int64_t>(t);
    return static_cast<T>(i);
  }
}

// An op may read attributes from the KernelInfo or be default-constructed.
template <typename Op>
Op make_op(const runtime::KernelInfo& info) {
  if constexpr (std::is_constructible_v<Op, const runtime::KernelInfo&>)
    return Op(info);
  else
    return Op();
}

// y = op(x) elementwise, same shape.
template <typename Op>
class UnaryElementwise final : public runtime::Kernel {
 public:
  explicit UnaryElementwise(const runtime::KernelInfo& info) : op_(make_op<Op>(info)) {}

  void compute(runtime::KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Dispatcher<typename Op::Types>::run(
        x.type(),
        [&](auto tag) {
          using T = decltype(tag);
          using R = decltype(op_(to_compute(T{})));
          using Out = std::conditional_t<std::is_same_v<R, bool>, bool, T>;
          Tensor& y = ctx.allocate_uninitialized_output_dims(0, ElementTypeOf<Out>::value, x.shape());
          const T* in = x.data<T>();
          Out* out = y.data<Out>();
          const int64_t n = x.size();
          for (int64_t i = 0; i < n; ++i) out[i] = from_compute<Out>(op_(to_compute(in[i])));
        },
        [&ctx] { return ctx.node().describe(); });
  }

 private:
  Op op_;
};

}  // namespace kestrel::cpu::elementwise
