// Calls a generic lambda with a value of the C++ type matching a runtime ElementType:
//
//   dispatch<float, double, int64_t>(t.type(), [&](auto tag) { using T = decltype(tag); ... }, "Relu");
//
// The tag is a default-constructed T. An element type outside the list throws kNotImplemented naming `what`: a
// string, or a callable returning one, called only then (so a kernel can name its node without building the
// name on every run).
#pragma once

#include <string>
#include <tuple>
#include <type_traits>

#include "kestrel/element_type.h"
#include "kestrel/error.h"

namespace kestrel::cpu {

template <typename W>
std::string dispatch_name(const W& what) {
  if constexpr (std::is_invocable_v<const W&>) return what();
  else return std::string(what);
}

template <typename... Ts, typename F, typename W>
decltype(auto) dispatch(ElementType type, F&& f, const W& what) {
  using R = decltype(f(std::tuple_element_t<0, std::tuple<Ts...>>{}));
  if constexpr (std::is_void_v<R>) {
    bool done = ((type == ElementTypeOf<Ts>::value ? (f(Ts{}), true) : false) || ...);
    if (!done)
      throw Error(ErrorCode::kNotImplemented,
                  dispatch_name(what) + ": element type " + element_type_name(type) + " is not supported");
  } else {
    R result{};
    bool done = ((type == ElementTypeOf<Ts>::value ? (result = f(Ts{}), true) : false) || ...);
    if (!done)
      throw Error(ErrorCode::kNotImplemented,
                  dispatch_name(what) + ": element type " + element_type_name(type) + " is not supported");
    return result;
  }
}

// Common type lists, spelled as macros so they can be expanded inside dispatch<...>.
#define KESTREL_FLOAT_TYPES float, double, ::kestrel::Float16, ::kestrel::BFloat16
#define KESTREL_INT_TYPES int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
#define KESTREL_NUMERIC_TYPES KESTREL_FLOAT_TYPES, KESTREL_INT_TYPES
#define KESTREL_ALL_TYPES KESTREL_NUMERIC_TYPES, bool, std::string

}  // namespace kestrel::cpu
