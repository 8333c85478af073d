// y[i] = table[x[i] ^ flip] for bytes, 64 at a time with AVX-512 VBMI byte permutes (the 256-entry table in
// four registers: two two-register permutes on the low 7 bits of each index, the high bit choosing between
// them). Shared by the fast QuantizedLookup and the int8 convolution that applies a lookup to its input.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace kestrel::cpu::fast {

inline bool has_vbmi() {
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vbmi");
  return yes;
}

#define KESTREL_VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))

// table[idx ^ flip] for 64 indices; t0..t3 hold table entries 0..63, 64..127, 128..191, 192..255.
KESTREL_VBMI inline __m512i lookup64(__m512i idx, __m512i flip, __m512i t0, __m512i t1, __m512i t2,
                                     __m512i t3) {
  idx = _mm512_xor_si512(idx, flip);
  const __m512i low = _mm512_permutex2var_epi8(t0, idx, t1);   // entries 0..127 (index bit 6 picks t0 or t1)
  const __m512i high = _mm512_permutex2var_epi8(t2, idx, t3);  // entries 128..255
  return _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), low, high);
}

// Needs has_vbmi().
KESTREL_VBMI inline void lookup_bytes(const uint8_t* x, uint8_t* y, int64_t n, const uint8_t* table,
                                      uint8_t flip) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  const __m512i f = _mm512_set1_epi8(static_cast<char>(flip));
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)
    _mm512_storeu_si512(y + i, lookup64(_mm512_loadu_si512(x + i), f, t0, t1, t2, t3));
  if (i < n) {
    const __mmask64 m = (__mmask64{1} << (n - i)) - 1;  // n - i < 64
    _mm512_mask_storeu_epi8(y + i, m, lookup64(_mm512_maskz_loadu_epi8(m, x + i), f, t0, t1, t2, t3));
  }
}

}  // namespace kestrel::cpu::fast
