// Shared by the fast kernels in this folder: the reference kernel as a fallback for cases a fast kernel does
// not specialise, a vectorisable exp, and the ISA dispatch attribute. Hot loops are compiled for AVX-512,
// AVX2 and baseline x86-64 (GCC target_clones); the loader picks one per process at start-up.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <memory>

#include "providers/cpu/kernels/onnx/nn_types.h"
#include "providers/cpu/kernels/parallel_ranges.h"
#include "runtime/kernel_registry.h"

#define KESTREL_ISA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

namespace kestrel::cpu::fast {

// The reference (priority 0) kernel for the node, made from the same KernelInfo.
inline std::unique_ptr<Kernel> reference_kernel(const KernelInfo& info) {
  const auto defs =
      runtime::KernelRegistry::cpu().candidates(info.node().domain, info.op_type(), info.opset(), true);
  if (defs.empty()) info.fail("no reference kernel to fall back to");
  return defs.front()->factory(info);
}

// True when input i is declared as a float tensor.
inline bool input_is_float(const KernelInfo& info, size_t i) {
  const TypeInfo& t = info.input_type(i);
  return t.kind == TypeInfo::Kind::kTensor && t.element_type == ElementType::kFloat;
}

// exp(x) for float, branch-free so loops over it vectorise: Cody-Waite range reduction x = n ln2 + r and
// Cephes' degree-6 polynomial for exp(r) (relative error ~2e-7 over the float range). Results below 2^-126
// flush to 0, above float max give inf; NaN stays NaN.
inline float exp_fast(float x) {
  const float hi = 88.3762626647949f, lo = -87.3365447505531f;
  const float xc = x > hi ? hi : (x < lo ? lo : x);
  const float n = std::floor(xc * 1.44269504088896341f + 0.5f);
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const float scale = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  float y = p * scale;
  y = x < lo ? 0.0f : y;
  y = x > hi ? INFINITY : y;
  return x != x ? x : y;
}

// 16 floats as one value: one zmm register with AVX-512, two ymm with AVX2, four xmm otherwise (GCC lowers
// the operations to whatever the enclosing function is compiled for). Vec16 is passed by reference only: a
// vector argument's ABI differs between those instruction sets.
typedef float Vec16 __attribute__((vector_size(64)));
typedef int32_t Int16 __attribute__((vector_size(64)));

// Unaligned, aliasing view of 16 floats in memory: loads and stores through it stay plain vector moves
// (a memcpy into a Vec16 sometimes leaves the value on the stack).
typedef float UnalignedVec16 __attribute__((vector_size(64), aligned(4), may_alias));

inline __attribute__((always_inline)) void load16(Vec16& v, const float* p) {
  v = *reinterpret_cast<const UnalignedVec16*>(p);
}
inline __attribute__((always_inline)) void store16(float* p, const Vec16& v) {
  *reinterpret_cast<UnalignedVec16*>(p) = v;
}

// The largest and the sum of the 16 lanes, in four halving steps (lane by lane would be 15 dependent steps):
// step i combines each lane with the one 8, 4, 2, then 1 lanes away.
inline const Int16 kHalves[4] = {{8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7},
                                 {4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11},
                                 {2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13},
                                 {1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14}};
inline __attribute__((always_inline)) float max_lanes(const Vec16& lanes) {
  Vec16 v = lanes;
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    const Vec16 other = __builtin_shuffle(v, kHalves[i]);
    v = other > v ? other : v;
  }
  return v[0];
}
inline __attribute__((always_inline)) float sum_lanes(const Vec16& lanes) {
  Vec16 v = lanes;
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) v += __builtin_shuffle(v, kHalves[i]);
  return v[0];
}

// exp_fast on 16 lanes at once, in place: the same range reduction, polynomial and special cases.
inline __attribute__((always_inline)) void exp_fast16(Vec16& x) {
  const float hi = 88.3762626647949f, lo = -87.3365447505531f;
  Vec16 xc = x > hi ? Vec16{} + hi : x;
  xc = xc < lo ? Vec16{} + lo : xc;
  // n = floor(xc log2(e) + 1/2): truncation, then one down where it rounded up (negative values).
  const Vec16 t = xc * 1.44269504088896341f + 0.5f;
  Vec16 n = __builtin_convertvector(__builtin_convertvector(t, Int16), Vec16);
  n = n > t ? n - 1.0f : n;
  Vec16 r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  Vec16 p = Vec16{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const Int16 bits = (__builtin_convertvector(n, Int16) + 127) << 23;
  Vec16 y = p * (Vec16)bits;  // a vector cast keeps the bits
  y = x < lo ? Vec16{} : y;
  y = x > hi ? Vec16{} + INFINITY : y;
  x = x != x ? x : y;
}

// gelu(x) = x/2 (1 + erf(x / sqrt 2)) on 16 lanes, in place. erf(z) = z P(z^2) / Q(z^2) on z clamped to
// [-4, 4] (erf(4) is 1 - 1.5e-8, 1 in float), a rational fit made for Kestrel (weighted least squares on Chebyshev
// points, max abs error 4e-7 in float); no exp, one division.
inline __attribute__((always_inline)) void gelu_erf16(Vec16& x) {
  const Vec16 scaled = x * 0.70710678118654752f;
  Vec16 z = scaled > 4.0f ? Vec16{} + 4.0f : scaled;
  z = z < -4.0f ? Vec16{} - 4.0f : z;
  const Vec16 t = z * z;
  Vec16 p = t * 2.017528639e-08f - 1.990050795e-06f;
  p = p * t + 1.450731053e-04f;
  p = p * t + 3.783689849e-03f;
  p = p * t + 5.075233176e-02f;
  p = p * t + 2.015259587e-01f;
  p = p * t + 1.128378586e+00f;
  Vec16 q = t * 9.808349987e-04f + 1.448641722e-02f;
  q = q * t + 1.156384102e-01f;
  q = q * t + 5.119255651e-01f;
  q = q * t + 1.0f;
  // Beyond the clamp erf is exactly +-1 in float, as std::erf gives (so -inf yields NaN like the reference).
  Vec16 erf = z * p / q;
  erf = scaled >= 4.0f ? Vec16{} + 1.0f : erf;
  erf = scaled <= -4.0f ? Vec16{} - 1.0f : erf;
  x = x * 0.5f * (1.0f + erf);
}

// gelu with approximate = "tanh": x/2 (1 + tanh(u)) = x / (1 + exp(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3).
inline __attribute__((always_inline)) void gelu_tanh16(Vec16& x) {
  Vec16 e = x * (x * x * (-2.0f * 0.79788456080286536f * 0.044715f) - 2.0f * 0.79788456080286536f);
  exp_fast16(e);
  x = x / (1.0f + e);
}

// Gelu over n floats in place (erf form, or the tanh approximation), split over `threads` when large; the
// instruction set is picked once. Defined in gelu.cc.
void gelu_in_place(float* data, int64_t n, bool tanh_approximation, int threads);

}  // namespace kestrel::cpu::fast
