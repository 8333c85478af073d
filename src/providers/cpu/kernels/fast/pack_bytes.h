// Storing 64 int8/uint8 results held as four vectors of int32: two packs saturate int32 to int16 and int16 to
// the byte type, leaving lane j of the result with elements 4j..4j+3 of a, b, c and d, which one permutation
// puts back in order for a single 64-byte store. Narrowing stores to memory (vpmov*db), one per 16 results,
// are several times slower on AMD's Zen cores.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <type_traits>

namespace kestrel::cpu::fast {

template <typename Q>
__attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) inline void pack64(__m512i a, __m512i b,
                                                                                       __m512i c, __m512i d,
                                                                                       Q* y) {
  static_assert(std::is_same_v<Q, uint8_t> || std::is_same_v<Q, int8_t>);
  const __m512i ab = _mm512_packs_epi32(a, b), cd = _mm512_packs_epi32(c, d);
  const __m512i bytes = std::is_same_v<Q, uint8_t> ? _mm512_packus_epi16(ab, cd) : _mm512_packs_epi16(ab, cd);
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  _mm512_storeu_si512(y, _mm512_permutexvar_epi32(order, bytes));
}

}  // namespace kestrel::cpu::fast
