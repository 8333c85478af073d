// Fast ai.kestrel QuantizedLookup: 64 lookups per step with AVX-512 VBMI byte permutes (the 256-entry table
// in four registers: two two-register permutes on the low 7 bits of each index, the high bit choosing between
// them); large tensors split over the threads. CPUs without VBMI keep the reference loop.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>

#include "providers/cpu/kernels/fast/fast_common.h"

namespace kestrel::cpu {
namespace {

bool has_vbmi() {
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

KESTREL_VBMI void lookup_vbmi(const uint8_t* x, uint8_t* y, int64_t n, const uint8_t* table, uint8_t flip) {
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

class FastQuantizedLookup final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!has_vbmi()) return nullptr;
    return std::make_unique<FastQuantizedLookup>(info);
  }
  explicit FastQuantizedLookup(const KernelInfo& info) : reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const Tensor& table = ctx.input(1);
    const bool bytes = (X.type() == ElementType::kUInt8 || X.type() == ElementType::kInt8) &&
                       (table.type() == ElementType::kUInt8 || table.type() == ElementType::kInt8);
    if (!bytes || table.rank() != 1 || table.size() != 256) return reference_->compute(ctx);  // it reports
    Tensor& Y = ctx.allocate_uninitialized_output(0, table.type(), X.shape());                // all written
    const auto* x = static_cast<const uint8_t*>(X.raw_data());
    const auto* t = static_cast<const uint8_t*>(table.raw_data());
    auto* y = static_cast<uint8_t*>(Y.raw_data());
    const uint8_t flip = X.type() == ElementType::kInt8 ? 0x80 : 0;
    const int64_t n = X.size();
    constexpr int64_t kChunk = int64_t{1} << 16;
    const int64_t chunks = (n + kChunk - 1) / kChunk;
    const int team = static_cast<int>(std::min<int64_t>(ctx.intra_op_threads(), chunks));
#pragma omp parallel for num_threads(team) schedule(static) if (team > 1 && n >= (int64_t{1} << 20))
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t begin = c * kChunk, end = std::min(n, begin + kChunk);
      lookup_vbmi(x + begin, y + begin, end - begin, t, flip);
    }
  }

 private:
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(QuantizedLookup, "ai.kestrel", 1, 1000, "uint8, int8", 10, &FastQuantizedLookup::create);

}  // namespace kestrel::cpu
