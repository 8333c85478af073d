// Element conversion between every ONNX tensor type, shared by Cast and CastLike: numbers to numbers (C++
// conversions made total: see float_to_int), to and from float16/bfloat16, and to and from strings.
#pragma once

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "providers/cpu/kernels/onnx/unary_elementwise.h"

namespace kestrel::cpu::elementwise {

struct CastOptions {
  // float -> bfloat16 by dropping the low 16 bits instead of rounding to nearest even. ONNX 1.12's reference
  // (its backend test data for Cast-13 and CastLike-15) truncates; the spec never said (onnx/onnx#3876) and
  // later reference implementations round, so Kestrel truncates for opsets 13-18 only.
  bool truncate_bfloat16 = false;
};

inline BFloat16 float_to_bfloat16(float f, const CastOptions& options) {
  if (!options.truncate_bfloat16) return BFloat16(f);
  uint32_t u;
  std::memcpy(&u, &f, 4);
  BFloat16 b;
  b.bits = static_cast<uint16_t>(u >> 16);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    b.bits |= 0x40;  // keep a NaN whose payload was all in the low bits a NaN
  return b;
}

// Numbers print in the shortest form that reads back to the same value ("0.1", "1e+20", "3"); NaN and
// infinities use the spec's literals "NaN", "INF", "-INF". 16-bit floats print the shortest decimal that
// reads back to the same 16-bit value. Bools print as "1"/"0" (like std::to_string and ONNX Runtime).
template <typename S>
std::string to_string_element(S v) {
  if constexpr (std::is_same_v<S, bool>) {
    return v ? "1" : "0";
  } else if constexpr (is_float_v<S>) {
    const auto c = to_compute(v);
    if (std::isnan(c)) return "NaN";
    if (std::isinf(c)) return c > 0 ? "INF" : "-INF";
    char buf[64];
    if constexpr (is_half_v<S>) {
      // Find the fewest significant digits that read back (via float) to the same 16-bit value, then print
      // that float in its own shortest form, which has at most that many digits.
      for (int precision = 0; precision < 9; ++precision) {
        auto r = std::to_chars(buf, buf + sizeof buf, c, std::chars_format::scientific, precision);
        float back = 0;
        std::from_chars(buf, r.ptr, back);
        if (S(back).bits == v.bits) {
          r = std::to_chars(buf, buf + sizeof buf, back);
          return std::string(buf, r.ptr);
        }
      }
    }
    auto r = std::to_chars(buf, buf + sizeof buf, c);
    return std::string(buf, r.ptr);
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
  }
}

// Converts one number of type S to type D (neither is std::string).
template <typename D, typename S>
D convert_number(S v, const CastOptions& options) {
  if constexpr (std::is_same_v<D, S>) {
    return v;
  } else if constexpr (std::is_same_v<D, bool>) {
    return to_compute(v) != 0;  // NaN is true, as in C++ and numpy
  } else if constexpr (std::is_same_v<D, BFloat16>) {
    return float_to_bfloat16(static_cast<float>(to_compute(v)), options);
  } else if constexpr (is_half_v<D>) {
    return D(static_cast<float>(to_compute(v)));
  } else if constexpr (std::is_floating_point_v<D>) {
    return static_cast<D>(to_compute(v));
  } else if constexpr (is_float_v<S>) {
    return float_to_int<D>(static_cast<double>(to_compute(v)));
  } else {
    return static_cast<D>(v);  // integer/bool to integer: modular, as C++20 defines
  }
}

inline bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// Parses a string as type D. Accepts surrounding whitespace, a leading '+', plain and scientific notation,
// and (case-insensitively) "INF", "+INF", "-INF", "NaN" (the spec's literals; "inf"/"infinity"/"nan" too).
// Integer targets read integers exactly and fall back to reading a float and truncating it; bool also accepts
// "true"/"false". Returns false when the text is not a number.
template <typename D>
bool parse_element(std::string_view text, D* out, const CastOptions& options) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if constexpr (std::is_same_v<D, bool>) {
    if (equals_ignore_case(text, "true")) return *out = true, true;
    if (equals_ignore_case(text, "false")) return *out = false, true;
  }
  std::string_view body = text;
  if (!body.empty() && body.front() == '+') {
    body.remove_prefix(1);
    if (!body.empty() && body.front() == '-') return false;
  }
  if (body.empty()) return false;
  const char* end = body.data() + body.size();
  if constexpr (std::is_integral_v<D> && !std::is_same_v<D, bool>) {
    using Wide = std::conditional_t<std::is_signed_v<D>, int64_t, uint64_t>;
    Wide w = 0;
    auto r = std::from_chars(body.data(), end, w);
    if (r.ec == std::errc() && r.ptr == end) return *out = static_cast<D>(w), true;
  }
  if constexpr (std::is_same_v<D, float> || is_half_v<D>) {
    float f = 0;
    auto r = std::from_chars(body.data(), end, f);
    // from_chars reports out-of-range for overflow (and underflow) without setting f; strtod-like results
    // then.
    if (r.ptr != end || (r.ec != std::errc() && r.ec != std::errc::result_out_of_range)) return false;
    if (r.ec == std::errc::result_out_of_range)
      f = static_cast<float>(std::strtod(std::string(body).c_str(), nullptr));
    *out = convert_number<D>(f, options);
    return true;
  } else {
    double d = 0;
    auto r = std::from_chars(body.data(), end, d);
    if (r.ptr != end || (r.ec != std::errc() && r.ec != std::errc::result_out_of_range)) return false;
    if (r.ec == std::errc::result_out_of_range) d = std::strtod(std::string(body).c_str(), nullptr);
    *out = convert_number<D>(d, options);
    return true;
  }
}

// Writes `in` converted to `out`'s element type into `out` (same element count). Fails via ctx on a string that is
// not a number, or on types Kestrel cannot convert (complex); the node is named only then.
inline void cast_into(const runtime::KernelContext& ctx, const Tensor& in, Tensor& out, const CastOptions& options) {
  const ElementType to = out.type();
  const int64_t n = in.size();
  dispatch<KESTREL_ALL_TYPES>(
      in.type(),
      [&](auto src_tag) {
        using S = decltype(src_tag);
        const S* src = in.data<S>();
        dispatch<KESTREL_ALL_TYPES>(
            to,
            [&](auto dst_tag) {
              using D = decltype(dst_tag);
              D* dst = out.data<D>();
              if constexpr (std::is_same_v<D, S>) {
                for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
              } else if constexpr (std::is_same_v<D, std::string>) {
                for (int64_t i = 0; i < n; ++i) dst[i] = to_string_element(src[i]);
              } else if constexpr (std::is_same_v<S, std::string>) {
                for (int64_t i = 0; i < n; ++i)
                  if (!parse_element<D>(src[i], &dst[i], options))
                    ctx.fail("cannot convert the string \"" + src[i] + "\" (element " + std::to_string(i) +
                             ") to " + element_type_name(to));
              } else {
                for (int64_t i = 0; i < n; ++i) dst[i] = convert_number<D>(src[i], options);
              }
            },
            [&] { return ctx.node().describe() + " (target type)"; });
      },
      [&] { return ctx.node().describe() + " (input type)"; });
}

// Returns `in` converted to element type `to` (a new tensor of the same shape).
inline Tensor cast_tensor(const runtime::KernelContext& ctx, const Tensor& in, ElementType to,
                          const CastOptions& options) {
  if (in.type() == to) return in.clone();
  Tensor out(to, in.shape());
  cast_into(ctx, in, out, options);
  return out;
}

}  // namespace kestrel::cpu::elementwise
