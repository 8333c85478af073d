// Fast ai.kestrel QuantizedLookup: 64 lookups per step with AVX-512 VBMI byte permutes (byte_lookup.h), and
// float tables 16 lookups per step with two-register permutes; large tensors split over the threads. CPUs
// without VBMI keep the reference loop.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>

#include "providers/cpu/kernels/fast/byte_lookup.h"
#include "providers/cpu/kernels/fast/fast_common.h"

namespace kestrel::cpu {
namespace {

// y[i] = t[x[i] ^ flip] for a float table, 16 at a time: the table's eight blocks of 32 entries are looked up
// by two-register permutes on the index's low 5 bits, then bits 5, 6 and 7 choose among the eight results (a
// gather of 16 floats costs several times as much on AMD's Zen cores).
__attribute__((target("avx512f,avx512bw,avx512vl"))) void lookup_floats(const uint8_t* x, float* y, int64_t n,
                                                                        const float* t, uint8_t flip) {
  __m512 table[16];
  for (int k = 0; k < 16; ++k) table[k] = _mm512_loadu_ps(t + 16 * k);
  const __m128i vflip = _mm_set1_epi8(static_cast<char>(flip));
  const __m512i bit5 = _mm512_set1_epi32(32), bit6 = _mm512_set1_epi32(64), bit7 = _mm512_set1_epi32(128);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i bytes = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)), vflip);
    const __m512i index = _mm512_cvtepu8_epi32(bytes);
    __m512 block[8];
    for (int b = 0; b < 8; ++b) block[b] = _mm512_permutex2var_ps(table[2 * b], index, table[2 * b + 1]);
    const __mmask16 m5 = _mm512_test_epi32_mask(index, bit5), m6 = _mm512_test_epi32_mask(index, bit6);
    const __mmask16 m7 = _mm512_test_epi32_mask(index, bit7);
    const __m512 q0 = _mm512_mask_blend_ps(m5, block[0], block[1]),
                 q1 = _mm512_mask_blend_ps(m5, block[2], block[3]);
    const __m512 q2 = _mm512_mask_blend_ps(m5, block[4], block[5]),
                 q3 = _mm512_mask_blend_ps(m5, block[6], block[7]);
    const __m512 r0 = _mm512_mask_blend_ps(m6, q0, q1), r1 = _mm512_mask_blend_ps(m6, q2, q3);
    _mm512_storeu_ps(y + i, _mm512_mask_blend_ps(m7, r0, r1));
  }
  for (; i < n; ++i) y[i] = t[x[i] ^ flip];
}

class FastQuantizedLookup final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!fast::has_vbmi()) return nullptr;
    return std::make_unique<FastQuantizedLookup>(info);
  }
  explicit FastQuantizedLookup(const KernelInfo& info) : reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const Tensor& table = ctx.input(1);
    const bool float_table = table.type() == ElementType::kFloat;
    const bool types =
        (X.type() == ElementType::kUInt8 || X.type() == ElementType::kInt8) &&
        (table.type() == ElementType::kUInt8 || table.type() == ElementType::kInt8 || float_table);
    if (!types || table.rank() != 1 || table.size() != 256) return reference_->compute(ctx);  // it reports
    Tensor& Y = ctx.allocate_uninitialized_output(0, table.type(), X.shape());                // all written
    const auto* x = static_cast<const uint8_t*>(X.raw_data());
    const uint8_t flip = X.type() == ElementType::kInt8 ? 0x80 : 0;
    const int64_t n = X.size();
    constexpr int64_t kChunk = int64_t{1} << 16;
    const int64_t chunks = (n + kChunk - 1) / kChunk;
    const int team = static_cast<int>(std::min<int64_t>(ctx.intra_op_threads(), chunks));
    // Float outputs are four times the bytes: split from a quarter of the size.
    const int64_t split_from = float_table ? int64_t{1} << 18 : int64_t{1} << 20;
#pragma omp parallel for num_threads(team) schedule(static) if (team > 1 && n >= split_from)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t begin = c * kChunk, end = std::min(n, begin + kChunk);
      if (float_table)
        lookup_floats(x + begin, Y.data<float>() + begin, end - begin, table.data<float>(), flip);
      else
        fast::lookup_bytes(x + begin, static_cast<uint8_t*>(Y.raw_data()) + begin, end - begin,
                           static_cast<const uint8_t*>(table.raw_data()), flip);
    }
  }

 private:
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(QuantizedLookup, "ai.kestrel", 1, 1000, "uint8, int8", 10, &FastQuantizedLookup::create);

}  // namespace kestrel::cpu
