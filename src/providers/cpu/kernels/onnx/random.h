// What the random generators share (RandomNormal, RandomUniform, their *Like forms, Multinomial, Bernoulli):
// the engine and its seeding. With a `seed` attribute every run restarts from that seed, so a given seed
// always yields the same values; without one each run draws a fresh seed. Kernels keep no per-run state.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>

#include "providers/cpu/kernels/dispatch.h"
#include "runtime/kernel.h"
#include "runtime/kernel_registry.h"

// Helpers live in their own namespace so that their generic names cannot collide with other kernels'.
namespace kestrel::cpu::rng {

class RandomSeed {
 public:
  explicit RandomSeed(const runtime::KernelInfo& info) {
    if (info.has_attr("seed")) {
      has_seed_ = true;
      const float s = info.attr_float("seed");
      uint32_t bits;
      std::memcpy(&bits, &s, sizeof bits);
      seed_ = bits;
    }
  }
  std::mt19937_64 engine() const {
    if (has_seed_) return std::mt19937_64(seed_);
    // Unseeded: mix a per-process random value with a counter so concurrent runs differ.
    static const uint64_t base =
        (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
    static std::atomic<uint64_t> counter{0};
    std::seed_seq seq{base, counter.fetch_add(1), static_cast<uint64_t>(0x9E3779B97F4A7C15ull)};
    return std::mt19937_64(seq);
  }

 private:
  bool has_seed_ = false;
  uint64_t seed_ = 0;
};

// Reads the optional dtype attribute; `fallback` when absent. Only float types are valid for the
// Normal/Uniform family.
inline ElementType random_float_dtype(const runtime::KernelInfo& info, ElementType fallback) {
  if (!info.has_attr("dtype")) return fallback;
  const int64_t t = info.attr_int("dtype");
  const auto type = static_cast<ElementType>(t);
  if (type != ElementType::kFloat && type != ElementType::kDouble && type != ElementType::kFloat16 &&
      type != ElementType::kBFloat16)
    info.fail("attribute 'dtype': expected float, double, float16 or bfloat16, got " + std::to_string(t));
  return type;
}

// The largest value of T below `v` (v finite): a half-open range's end must stay out after rounding.
template <typename T>
T next_below(T v) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    return std::nextafter(v, -std::numeric_limits<T>::infinity());
  } else {
    T r = v;
    if ((r.bits & 0x7fffu) == 0)
      r.bits = 0x8001u;  // +-0 -> the smallest negative subnormal
    else if (r.bits & 0x8000u)
      ++r.bits;  // negative: one step away from zero
    else
      --r.bits;  // positive: one step toward zero
    return r;
  }
}

// Fills `out` with draws of `dist` (which yields double). With `exclusive_high`, a draw just below it that
// rounds up to it in T (likely in bfloat16, rare in float) is replaced by the largest T below it, so the
// output stays in [low, high) as the uniform ops promise.
template <typename Dist>
void fill_random(Tensor& out, Dist dist, std::mt19937_64& engine, const std::string& what,
                 std::optional<double> exclusive_high = std::nullopt) {
  dispatch<float, double, Float16, BFloat16>(
      out.type(),
      [&](auto tag) {
        using T = decltype(tag);
        T* p = out.data<T>();
        for (int64_t i = 0; i < out.size(); ++i) {
          const double v = dist(engine);
          T t;
          if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
            t = static_cast<T>(v);
          else
            t = T(static_cast<float>(v));
          if (exclusive_high && static_cast<double>(t) >= *exclusive_high) t = next_below(t);
          p[i] = t;
        }
      },
      what);
}

}  // namespace kestrel::cpu::rng
