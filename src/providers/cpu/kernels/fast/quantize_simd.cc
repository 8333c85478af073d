// AVX-512 and scalar loops of linear (de)quantization (see quantize_simd.h).
#include "providers/cpu/kernels/fast/quantize_simd.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "providers/cpu/kernels/fast/pack_bytes.h"
#include "providers/cpu/kernels/fast/tail_mask.h"
#include "providers/cpu/kernels/onnx/quantize.h"

namespace kestrel::cpu::fast {

bool has_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl");
  return yes;
}

namespace {

// Splits [0, n) into chunks of 64 KiB of floats and runs fn(begin, end, chunk index) on up to `threads`
// threads; returns the number of chunks. Arrays under a million elements stay on the calling thread: these
// loops stream memory at a few GB/s, and a fork/join can cost more than the whole loop on a busy machine.
constexpr int64_t kChunk = 16384;
constexpr int64_t kParallelFrom = int64_t{1} << 20;
template <typename Fn>
int64_t for_chunks(int64_t n, int threads, const Fn& fn) {
  const int64_t chunks = std::max<int64_t>(1, (n + kChunk - 1) / kChunk);
  const int team = n < kParallelFrom ? 1 : static_cast<int>(std::min<int64_t>(threads, chunks));
  if (team == 1) {  // no OpenMP region at all: callers run these loops on small blocks too
    for (int64_t c = 0; c < chunks; ++c) fn(c * kChunk, std::min(n, (c + 1) * kChunk), c);
    return chunks;
  }
#pragma omp parallel for num_threads(team) schedule(static) if (team > 1)
  for (int64_t c = 0; c < chunks; ++c) fn(c * kChunk, std::min(n, (c + 1) * kChunk), c);
  return chunks;
}

// Stores of 16 bytes / 16 floats: plain stores for whole vectors, masked ones only for the tail (a masked
// store, or a narrowing store to memory under a mask, costs many times a plain one on AMD's Zen cores).
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline void store16(uint8_t* y, __mmask16 m, __m128i v) {
  if (m == 0xFFFF)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), v);
  else
    _mm_mask_storeu_epi8(y, m, v);
}
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline void store16(int8_t* y, __mmask16 m, __m128i v) {
  store16(reinterpret_cast<uint8_t*>(y), m, v);
}
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline void store16(float* y, __mmask16 m, __m512 v) {
  if (m == 0xFFFF)
    _mm512_storeu_ps(y, v);
  else
    _mm512_mask_storeu_ps(y, m, v);
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void range_avx512(const float* x, int64_t n, float& lo,
                                                              float& hi) {
  // Two pairs of running extremes, so that consecutive vectors do not wait on each other.
  __m512 vlo = _mm512_setzero_ps(), vhi = _mm512_setzero_ps(), vlo2 = vlo, vhi2 = vhi;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    // min/max return the second operand when either is NaN: a NaN element leaves the running value alone.
    const __m512 v = _mm512_loadu_ps(x + i), w = _mm512_loadu_ps(x + i + 16);
    vlo = _mm512_min_ps(v, vlo);
    vhi = _mm512_max_ps(v, vhi);
    vlo2 = _mm512_min_ps(w, vlo2);
    vhi2 = _mm512_max_ps(w, vhi2);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);  // masked-off lanes read 0, inside the range already
    vlo = _mm512_min_ps(v, vlo);
    vhi = _mm512_max_ps(v, vhi);
  }
  // (the mask_ forms: GCC 12 warns about the plain ones' undefined source here)
  vlo = _mm512_mask_min_ps(vlo, static_cast<__mmask16>(0xFFFF), vlo2, vlo);
  vhi = _mm512_mask_max_ps(vhi, static_cast<__mmask16>(0xFFFF), vhi2, vhi);
  // (GCC 12's _mm512_reduce_min_ps trips -Werror=uninitialized inside its header: reduce by hand.)
  float los[16], his[16];
  _mm512_storeu_ps(los, vlo);
  _mm512_storeu_ps(his, vhi);
  for (int i = 0; i < 16; ++i) {
    lo = std::min(lo, los[i]);
    hi = std::max(hi, his[i]);
  }
}

void range_scalar(const float* x, int64_t n, float& lo, float& hi) {
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
}

// saturate(round(x / scale) + zero_point) as int32 within Q's range (max(NaN, lo) is lo, as in
// saturate_round).
template <typename Q>
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m512i quantize16_wide(__m512 x, __m512 vs,
                                                                                    __m512 vz) {
  const __m512 vlo = _mm512_set1_ps(static_cast<float>(std::numeric_limits<Q>::lowest()));
  const __m512 vhi = _mm512_set1_ps(static_cast<float>(std::numeric_limits<Q>::max()));
  __m512 r = _mm512_roundscale_ps(_mm512_div_ps(x, vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  r = _mm512_add_ps(r, vz);
  r = _mm512_min_ps(_mm512_max_ps(r, vlo), vhi);
  return _mm512_cvtps_epi32(r);
}

// Sixteen int32 already within Q's range, narrowed to 8 bits.
template <typename Q>
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m128i narrow16(__m512i q) {
  if constexpr (std::is_same_v<Q, uint8_t>)
    return _mm512_cvtusepi32_epi8(q);
  else
    return _mm512_cvtsepi32_epi8(q);
}

template <typename Q>
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m128i quantize16(__m512 x, __m512 vs,
                                                                               __m512 vz) {
  return narrow16<Q>(quantize16_wide<Q>(x, vs, vz));
}

template <typename Q>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void quantize_avx512(const float* x, int64_t n, float scale,
                                                                 float zero_point, Q* y) {
  const __m512 vs = _mm512_set1_ps(scale), vz = _mm512_set1_ps(zero_point);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)  // 64 results per store (see pack_bytes.h)
    pack64(quantize16_wide<Q>(_mm512_loadu_ps(x + i), vs, vz),
           quantize16_wide<Q>(_mm512_loadu_ps(x + i + 16), vs, vz),
           quantize16_wide<Q>(_mm512_loadu_ps(x + i + 32), vs, vz),
           quantize16_wide<Q>(_mm512_loadu_ps(x + i + 48), vs, vz), y + i);
  for (; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    store16(y + i, m, quantize16<Q>(_mm512_maskz_loadu_ps(m, x + i), vs, vz));
  }
}

template <typename Q>
void quantize_scalar(const float* x, int64_t n, float scale, float zero_point, Q* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = saturate_round<Q>(std::nearbyint(x[i] / scale) + zero_point);
}

template <typename Q>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void dequantize_avx512(const Q* x, int64_t n, int32_t zero_point,
                                                                   float scale, float* y) {
  const __m512 vs = _mm512_set1_ps(scale);
  const __m512i vz = _mm512_set1_epi32(zero_point);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m128i raw = _mm_maskz_loadu_epi8(m, x + i);
    const __m512i wide = std::is_same_v<Q, uint8_t> ? _mm512_cvtepu8_epi32(raw) : _mm512_cvtepi8_epi32(raw);
    store16(y + i, m, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(wide, vz)), vs));
  }
}

template <typename Q>
void dequantize_scalar(const Q* x, int64_t n, int32_t zero_point, float scale, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(static_cast<int32_t>(x[i]) - zero_point) * scale;
}

// Sixteen requantized sums from element i, as int32 within Q's range; lanes outside `m` read as 0. Scales and
// offsets as for requantize_avx512 below.
template <typename Q, bool kOneScale>
__attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) inline __m512i requantize16(
    const int32_t* acc, int64_t i, __mmask16 m, const float* scales, __m512 vz, bool round_first,
    __m512i voff, const int32_t* offsets) {
  constexpr int kNear = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const __m512 vlo = _mm512_set1_ps(static_cast<float>(std::numeric_limits<Q>::lowest()));
  const __m512 vhi = _mm512_set1_ps(static_cast<float>(std::numeric_limits<Q>::max()));
  // Explicitly rounded operations: the compiler may not contract them into one fused multiply-add.
  const __m512 vscale = kOneScale ? _mm512_set1_ps(scales[0]) : _mm512_maskz_loadu_ps(m, scales + i);
  const __m512i sums = _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, acc + i),
                                        offsets ? _mm512_maskz_loadu_epi32(m, offsets + i) : voff);
  __m512 r = _mm512_mul_round_ps(_mm512_cvtepi32_ps(sums), vscale, kNear);
  if (round_first)
    r = _mm512_add_round_ps(_mm512_roundscale_ps(r, kNear), vz, kNear);
  else
    r = _mm512_roundscale_ps(_mm512_add_round_ps(r, vz, kNear), kNear);
  r = _mm512_min_ps(_mm512_max_ps(r, vlo), vhi);
  return _mm512_cvtps_epi32(r);
}

// `scales` holds n values, or one when kOneScale.
// `offsets` (n values) replaces `offset` when not null.
template <typename Q, bool kOneScale>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void requantize_avx512(const int32_t* acc, int64_t n, const float* scales,
                                                                   float zero_point, bool round_first, int32_t offset,
                                                                   const int32_t* offsets, Q* y) {
  const __m512i voff = _mm512_set1_epi32(offset);
  const __m512 vz = _mm512_set1_ps(zero_point);
  const __mmask16 all = 0xFFFF;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)  // 64 results per store (see pack_bytes.h)
    pack64(requantize16<Q, kOneScale>(acc, i, all, scales, vz, round_first, voff, offsets),
           requantize16<Q, kOneScale>(acc, i + 16, all, scales, vz, round_first, voff, offsets),
           requantize16<Q, kOneScale>(acc, i + 32, all, scales, vz, round_first, voff, offsets),
           requantize16<Q, kOneScale>(acc, i + 48, all, scales, vz, round_first, voff, offsets), y + i);
  for (; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    store16(y + i, m,
            narrow16<Q>(requantize16<Q, kOneScale>(acc, i, m, scales, vz, round_first, voff, offsets)));
  }
}

template <typename Q, bool kOneScale = false>
void requantize_any(const int32_t* acc, int64_t n, const float* scales, float zero_point, bool round_first, Q* y,
                    int32_t offset = 0, const int32_t* offsets = nullptr) {
  if (has_avx512())
    return requantize_avx512<Q, kOneScale>(acc, n, scales, zero_point, round_first, offset, offsets, y);
  for (int64_t i = 0; i < n; ++i) {
    const float v = static_cast<float>(acc[i] + (offsets ? offsets[i] : offset)) * scales[kOneScale ? 0 : i];
    y[i] = round_first ? saturate_round<Q>(std::nearbyint(v) + zero_point) : saturate_round<Q>(v + zero_point);
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m512 scale_and_bias16(const int32_t* acc,
                                                                           const int32_t* offsets,
                                                                           const float* scales,
                                                                           const float* bias, int64_t i,
                                                                           __mmask16 m) {
  constexpr int kNear = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  __m512i sums = _mm512_maskz_loadu_epi32(m, acc + i);
  if (offsets) sums = _mm512_add_epi32(sums, _mm512_maskz_loadu_epi32(m, offsets + i));
  __m512 r = _mm512_mul_round_ps(_mm512_cvtepi32_ps(sums), _mm512_maskz_loadu_ps(m, scales + i), kNear);
  if (bias) r = _mm512_add_round_ps(r, _mm512_maskz_loadu_ps(m, bias + i), kNear);
  return r;
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void scale_and_bias_avx512(const int32_t* acc, int64_t n,
                                                                       const int32_t* offsets,
                                                                       const float* scales, const float* bias,
                                                                       float* y) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    store16(y + i, m, scale_and_bias16(acc, offsets, scales, bias, i, m));
  }
}

template <typename Q>
void quantize_any(const float* x, int64_t n, float scale, float zero_point, Q* y, int threads) {
  for_chunks(n, threads, [&](int64_t b, int64_t e, int64_t) {
    if (has_avx512())
      quantize_avx512<Q>(x + b, e - b, scale, zero_point, y + b);
    else
      quantize_scalar<Q>(x + b, e - b, scale, zero_point, y + b);
  });
}

template <typename Q>
void dequantize_any(const Q* x, int64_t n, int32_t zero_point, float scale, float* y, int threads) {
  for_chunks(n, threads, [&](int64_t b, int64_t e, int64_t) {
    if (has_avx512())
      dequantize_avx512<Q>(x + b, e - b, zero_point, scale, y + b);
    else
      dequantize_scalar<Q>(x + b, e - b, zero_point, scale, y + b);
  });
}

}  // namespace

void range_with_zero(const float* x, int64_t n, float& lo, float& hi, int threads) {
  const int64_t chunks = std::max<int64_t>(1, (n + kChunk - 1) / kChunk);
  std::vector<float> los(static_cast<size_t>(chunks), 0.0f), his(static_cast<size_t>(chunks), 0.0f);
  for_chunks(n, threads, [&](int64_t b, int64_t e, int64_t c) {
    float l = 0, h = 0;
    if (has_avx512())
      range_avx512(x + b, e - b, l, h);
    else
      range_scalar(x + b, e - b, l, h);
    los[static_cast<size_t>(c)] = l;
    his[static_cast<size_t>(c)] = h;
  });
  lo = *std::min_element(los.begin(), los.end());
  hi = *std::max_element(his.begin(), his.end());
}

void quantize(const float* x, int64_t n, float scale, float zero_point, uint8_t* y, int threads) {
  quantize_any(x, n, scale, zero_point, y, threads);
}
void quantize(const float* x, int64_t n, float scale, float zero_point, int8_t* y, int threads) {
  quantize_any(x, n, scale, zero_point, y, threads);
}
void dequantize(const uint8_t* x, int64_t n, int32_t zero_point, float scale, float* y, int threads) {
  dequantize_any(x, n, zero_point, scale, y, threads);
}
void dequantize(const int8_t* x, int64_t n, int32_t zero_point, float scale, float* y, int threads) {
  dequantize_any(x, n, zero_point, scale, y, threads);
}

void requantize(const int32_t* acc, int64_t n, const float* scales, float zero_point, bool round_first,
                uint8_t* y) {
  requantize_any(acc, n, scales, zero_point, round_first, y);
}
void requantize(const int32_t* acc, int64_t n, const float* scales, float zero_point, bool round_first,
                int8_t* y) {
  requantize_any(acc, n, scales, zero_point, round_first, y);
}

void requantize(const int32_t* acc, int64_t n, const int32_t* offsets, const float* scales, float zero_point,
                bool round_first, uint8_t* y) {
  requantize_any(acc, n, scales, zero_point, round_first, y, 0, offsets);
}
void requantize(const int32_t* acc, int64_t n, const int32_t* offsets, const float* scales, float zero_point,
                bool round_first, int8_t* y) {
  requantize_any(acc, n, scales, zero_point, round_first, y, 0, offsets);
}

void requantize(const int32_t* acc, int64_t n, float scale, float zero_point, bool round_first, int32_t offset,
                uint8_t* y) {
  requantize_any<uint8_t, true>(acc, n, &scale, zero_point, round_first, y, offset);
}
void requantize(const int32_t* acc, int64_t n, float scale, float zero_point, bool round_first, int32_t offset,
                int8_t* y) {
  requantize_any<int8_t, true>(acc, n, &scale, zero_point, round_first, y, offset);
}

void scale_and_bias(const int32_t* acc, int64_t n, const int32_t* offsets, const float* scales, const float* bias,
                    float* y) {
  if (has_avx512()) return scale_and_bias_avx512(acc, n, offsets, scales, bias, y);
  for (int64_t i = 0; i < n; ++i) {
    const float v = static_cast<float>(acc[i] + (offsets ? offsets[i] : 0)) * scales[i];
    y[i] = bias ? v + bias[i] : v;
  }
}

DynamicQuantParams dynamic_quant_params(float lo, float hi) {
  DynamicQuantParams p;
  p.scale = (hi - lo) / 255.0f;
  p.zero_point = p.scale > 0 ? saturate_round<uint8_t>(0.0f - lo / p.scale) : 0;
  return p;
}

namespace {

// From this many elements dynamic_quantize splits over threads (a few microseconds of work per thread at 2).
constexpr int64_t kSplitDynamicQuantizeFrom = int64_t{1} << 15;

void range_serial(const float* x, int64_t n, float& lo, float& hi) {
  if (has_avx512())
    range_avx512(x, n, lo, hi);
  else
    range_scalar(x, n, lo, hi);
}

}  // namespace

DynamicQuantParams dynamic_quantize(const float* x, int64_t n, uint8_t* y, int threads) {
  if (threads > 1 && n >= kSplitDynamicQuantizeFrom) {
    // One parallel region for both passes: each thread finds the range of its part, the team agrees on the
    // parameters, and each thread quantizes the part it has just read, still in its own cache. Min and max
    // do not depend on the order, so the result is the serial one.
    constexpr int kMaxTeam = 64;
    const int team = std::min(threads, kMaxTeam);
    float los[kMaxTeam], his[kMaxTeam];
    DynamicQuantParams params;
#pragma omp parallel num_threads(team)
    {
      const int64_t t = omp_get_thread_num(), parts = omp_get_num_threads();
      const int64_t per = (n + parts * 16 - 1) / (parts * 16) * 16;  // whole vectors per thread
      const int64_t begin = std::min(n, t * per), end = std::min(n, begin + per);
      float l = 0, h = 0;
      if (begin < end) range_serial(x + begin, end - begin, l, h);
      los[t] = l;
      his[t] = h;
#pragma omp barrier
      const DynamicQuantParams p =
          dynamic_quant_params(*std::min_element(los, los + parts), *std::max_element(his, his + parts));
      if (t == 0) params = p;
      if (begin < end) {
        if (p.scale > 0)
          quantize(x + begin, end - begin, p.scale, static_cast<float>(p.zero_point), y + begin, 1);
        else
          std::fill(y + begin, y + end, p.zero_point);
      }
    }
    return params;
  }
  float lo = 0, hi = 0;
  range_with_zero(x, n, lo, hi, threads);
  const DynamicQuantParams p = dynamic_quant_params(lo, hi);
  if (p.scale > 0)
    quantize(x, n, p.scale, static_cast<float>(p.zero_point), y, threads);
  else
    std::fill(y, y + n, p.zero_point);
  return p;
}

}  // namespace kestrel::cpu::fast
