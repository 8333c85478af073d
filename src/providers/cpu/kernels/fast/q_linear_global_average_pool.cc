// Fast ai.kestrel QLinearGlobalAveragePool (see kestrel/q_linear_global_average_pool.h) with AVX-512: the exact
// integer sums of each image's channels, channels-last 64 channels at a time in int32 lanes (one 16-byte row
// segment widened per lane group and position), channels-first one plane at a time with byte sums of absolute
// differences (int8 values moved to uint8 by flipping the sign bit, 128 per position taken off after). Then the
// same requantization as the reference. CPUs without AVX-512 and images of more than 2^23 positions (whose
// int32 channels-last sums could overflow) keep the reference kernel.
#include <immintrin.h>

#include <algorithm>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/fast/quantize_simd.h"
#include "providers/cpu/kernels/kestrel/q_linear_global_average_pool.h"

namespace kestrel::cpu {
namespace {

constexpr int64_t kMaxPositions = int64_t{1} << 23;

// sums[c] = sum over s < S of x[s * stride + c], as stored (uint8, or int8 when kSigned), for c < C.
template <bool kSigned>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void channel_sums(const uint8_t* x, int64_t S, int64_t stride,
                                                                       int64_t C, int64_t* sums) {
  for (int64_t c0 = 0; c0 < C; c0 += 64) {
    __m512i acc[4];
    __mmask16 mask[4];
    for (int k = 0; k < 4; ++k) {
      acc[k] = _mm512_setzero_si512();
      const int64_t left = C - c0 - 16 * k;
      mask[k] = left >= 16 ? static_cast<__mmask16>(0xFFFF)
                           : left <= 0 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << left) - 1);
    }
    for (int64_t s = 0; s < S; ++s) {
      const uint8_t* row = x + s * stride + c0;
      for (int k = 0; k < 4; ++k) {
        if (!mask[k]) break;
        const __m128i raw = _mm_maskz_loadu_epi8(mask[k], row + 16 * k);
        acc[k] = _mm512_add_epi32(acc[k], kSigned ? _mm512_cvtepi8_epi32(raw) : _mm512_cvtepu8_epi32(raw));
      }
    }
    for (int k = 0; k < 4 && mask[k]; ++k) {
      alignas(64) int32_t lanes[16];
      _mm512_store_si512(lanes, acc[k]);
      for (int64_t j = 0; j < 16 && c0 + 16 * k + j < C; ++j) sums[c0 + 16 * k + j] = lanes[j];
    }
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
    constexpr int64_t kBlock = 256;  // channels per pass over the image's positions
    int64_t sums[kBlock];
    for (int64_t n = 0; n < p.batch; ++n)
      for (int64_t c0 = 0; c0 < C; c0 += kBlock) {
        const int64_t cn = std::min(kBlock, C - c0);
        if (channels_last_) {
          // A block of channels: the image's rows read at an offset, C apart.
          const uint8_t* image = x + n * S * C + c0;
          if (s8)
            channel_sums<true>(image, S, C, cn, sums);
          else
            channel_sums<false>(image, S, C, cn, sums);
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
