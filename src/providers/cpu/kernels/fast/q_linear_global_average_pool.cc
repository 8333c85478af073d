// Fast ai.kestrel QLinearGlobalAveragePool (see kestrel/q_linear_global_average_pool.h) with AVX-512: the exact
// integer sums of each image's channels, channels-last 64 channels at a time (16-bit lanes over runs of
// positions, then int32; large images split over the threads by positions), channels-first one plane at a
// time with byte sums of absolute differences (int8 values moved to uint8 by flipping the sign bit, 128 per
// position taken off after). Then the same requantization as the reference. CPUs without AVX-512 and images
// of more than 2^23 positions (whose int32 channels-last sums could overflow) keep the reference kernel.
#include <immintrin.h>

#include <algorithm>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/fast/quantize_simd.h"
#include "providers/cpu/kernels/kestrel/q_linear_global_average_pool.h"
#include "providers/cpu/kernels/parallel_ranges.h"

namespace kestrel::cpu {
namespace {

constexpr int64_t kMaxPositions = int64_t{1} << 23;
constexpr int64_t kBlock = 256;                      // channels per pass over the image's positions
constexpr int64_t kParallelFrom = int64_t{1} << 17;  // bytes: below it a fork/join costs about what it saves
constexpr int64_t kMaxTeam = 8;

// sums[c] = sum over s < S of x[s * stride + c], as stored (uint8, or int8 when kSigned), for c < C. 64 channels
// at a time: each position's 64 bytes are widened into two vectors of 16-bit lanes and added there (kRun
// positions cannot overflow them: |sum| <= 128 * 255 < 2^15), then into 32-bit totals after every kRun
// positions. The accumulators are named registers: an array indexed in a loop lived on the stack.
template <bool kSigned>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void channel_sums(const uint8_t* x, int64_t S, int64_t stride,
                                                                       int64_t C, int32_t* sums) {
  constexpr int64_t kRun = 128;
  for (int64_t c0 = 0; c0 < C; c0 += 64) {
    const int64_t cn = std::min<int64_t>(64, C - c0);
    const __mmask64 m = cn == 64 ? ~__mmask64{0} : (__mmask64{1} << cn) - 1;
    __m512i t0 = _mm512_setzero_si512(), t1 = t0, t2 = t0, t3 = t0;  // channels 0-15, 16-31, 32-47, 48-63
    for (int64_t s0 = 0; s0 < S; s0 += kRun) {
      const int64_t s1 = std::min(S, s0 + kRun);
      __m512i lo = _mm512_setzero_si512(), hi = lo;  // channels 0-31, 32-63
      for (int64_t s = s0; s < s1; ++s) {
        const __m512i v = _mm512_maskz_loadu_epi8(m, x + s * stride + c0);
        const __m256i v0 = _mm512_castsi512_si256(v), v1 = _mm512_extracti64x4_epi64(v, 1);
        lo = _mm512_add_epi16(lo, kSigned ? _mm512_cvtepi8_epi16(v0) : _mm512_cvtepu8_epi16(v0));
        hi = _mm512_add_epi16(hi, kSigned ? _mm512_cvtepi8_epi16(v1) : _mm512_cvtepu8_epi16(v1));
      }
      t0 = _mm512_add_epi32(t0, _mm512_cvtepi16_epi32(_mm512_castsi512_si256(lo)));
      t1 = _mm512_add_epi32(t1, _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(lo, 1)));
      t2 = _mm512_add_epi32(t2, _mm512_cvtepi16_epi32(_mm512_castsi512_si256(hi)));
      t3 = _mm512_add_epi32(t3, _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(hi, 1)));
    }
    alignas(64) int32_t lanes[64];
    _mm512_store_si512(lanes, t0);
    _mm512_store_si512(lanes + 16, t1);
    _mm512_store_si512(lanes + 32, t2);
    _mm512_store_si512(lanes + 48, t3);
    for (int64_t j = 0; j < cn; ++j) sums[c0 + j] = lanes[j];
  }
}

// The sum of n bytes as stored (uint8, or int8 when kSigned).
template <bool kSigned>
__attribute__((target("avx512f,avx512bw,avx512vl"))) int64_t plane_sum(const uint8_t* x, int64_t n) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(kSigned ? 0x80 : 0));
  __m512i acc = _mm512_setzero_si512();
  for (int64_t i = 0; i < n; i += 64) {
    const __mmask64 m = n - i >= 64 ? ~__mmask64{0} : (__mmask64{1} << (n - i)) - 1;
    // Masked-off bytes load as 0 and are flipped like the others: 128 each too, taken off with the rest below.
    const __m512i v = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, x + i), flip);
    acc = _mm512_add_epi64(acc, _mm512_sad_epu8(v, _mm512_setzero_si512()));
  }
  alignas(64) int64_t lanes[8];
  _mm512_store_si512(lanes, acc);
  int64_t sum = 0;
  for (int64_t v : lanes) sum += v;
  return kSigned ? sum - 128 * ((n + 63) / 64 * 64) : sum;
}

class FastQLinearGlobalAveragePool final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!fast::has_avx512()) return nullptr;
    return std::make_unique<FastQLinearGlobalAveragePool>(info);
  }
  explicit FastQLinearGlobalAveragePool(const KernelInfo& info)
      : channels_last_(info.attr_int("channels_last", 0) != 0), reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const QLinearPoolParams p = QLinearPoolParams::read(ctx, channels_last_);
    if (p.positions > kMaxPositions) return reference_->compute(ctx);
    const Tensor& X = ctx.input(0);
    Tensor& Y = ctx.allocate_uninitialized_output(0, p.y_type, p.y_shape);  // every element written
    const int64_t C = p.channels, S = p.positions;
    const bool s8 = X.type() == ElementType::kInt8;
    const auto* x = static_cast<const uint8_t*>(X.raw_data());
    int64_t sums[kBlock];
    // Large channels-last images: each thread sums a range of positions, the ranges' sums added after.
    const int team = static_cast<int>(std::min<int64_t>(ctx.intra_op_threads(), kMaxTeam));
    const bool split = channels_last_ && team > 1 && S * C >= kParallelFrom;
    for (int64_t n = 0; n < p.batch; ++n)
      for (int64_t c0 = 0; c0 < C; c0 += kBlock) {
        const int64_t cn = std::min(kBlock, C - c0);
        if (channels_last_) {
          // A block of channels: the image's rows read at an offset, C apart.
          const uint8_t* image = x + n * S * C + c0;
          int32_t partial[kMaxTeam][kBlock];
          parallel_ranges(split ? team : 1, team, split, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) {
              const int64_t parts = split ? team : 1, s0 = S * t / parts, s1 = S * (t + 1) / parts;
              if (s8)
                channel_sums<true>(image + s0 * C, s1 - s0, C, cn, partial[t]);
              else
                channel_sums<false>(image + s0 * C, s1 - s0, C, cn, partial[t]);
            }
          });
          for (int64_t c = 0; c < cn; ++c) {
            sums[c] = 0;
            for (int64_t t = 0; t < (split ? team : 1); ++t) sums[c] += partial[t][c];
          }
        } else {
          for (int64_t c = 0; c < cn; ++c) {
            const uint8_t* plane = x + (n * C + c0 + c) * S;
            sums[c] = s8 ? plane_sum<true>(plane, S) : plane_sum<false>(plane, S);
          }
        }
        for (int64_t c = 0; c < cn; ++c) {
          const int64_t sum = sums[c] - static_cast<int64_t>(p.x_zero) * S;
          if (p.y_type == ElementType::kUInt8)
            Y.data<uint8_t>()[n * C + c0 + c] = p.requantize<uint8_t>(sum);
          else
            Y.data<int8_t>()[n * C + c0 + c] = p.requantize<int8_t>(sum);
        }
      }
  }

 private:
  bool channels_last_;
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(QLinearGlobalAveragePool, "ai.kestrel", 1, 1000, "uint8, int8", 10,
                    &FastQLinearGlobalAveragePool::create);

}  // namespace kestrel::cpu
