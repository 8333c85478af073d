// Fast Transpose for the two channels-last permutations of 4-D tensors with 4-byte (float) or 1-byte (int8)
// elements, (0,2,3,1) NCHW -> NHWC and (0,3,1,2) NHWC -> NCHW, which the layout_nhwc rule puts where an image
// enters a channels-last region and where features leave it. Each is a batch of 2-D transposes, [P, Q] -> [Q, P]
// per image, done in square tiles so both the reads and the writes stay within a few cache lines; tiles are split
// over the threads. A float image of 3 channels going channels-last (the input of most CNNs) instead interleaves
// its planes 16 values at a time with vector shuffles. Other permutations and element sizes are left to the other
// Transpose kernels.
#include <emmintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "providers/cpu/kernels/fast/fast_common.h"

namespace kestrel::cpu {
namespace {

constexpr int64_t kTile = 16;

typedef uint32_t U32x16 __attribute__((vector_size(64)));
typedef uint32_t UnalignedU32x16 __attribute__((vector_size(64), aligned(4), may_alias));

// Masks that interleave 16 values of each of 3 planes a, b, c into a0 b0 c0 a1 b1 c1 ...: output vector k
// (of 3) is shuffle(shuffle(a, b, kFirst[k]), c, kSecond[k]), lanes of c taken in the second step.
// (lane j of the 48 outputs is plane j % 3, position j / 3)
const U32x16 kFirst[3] = {{0, 16, 0, 1, 17, 0, 2, 18, 0, 3, 19, 0, 4, 20, 0, 5},
                          {21, 0, 6, 22, 0, 7, 23, 0, 8, 24, 0, 9, 25, 0, 10, 26},
                          {0, 11, 27, 0, 12, 28, 0, 13, 29, 0, 14, 30, 0, 15, 31, 0}};
const U32x16 kSecond[3] = {{0, 1, 16, 3, 4, 17, 6, 7, 18, 9, 10, 19, 12, 13, 20, 15},
                           {0, 21, 2, 3, 22, 5, 6, 23, 8, 9, 24, 11, 12, 25, 14, 15},
                           {26, 1, 2, 27, 4, 5, 28, 7, 8, 29, 10, 11, 30, 13, 14, 31}};

// y[q][p] = x[p][q] for 3 planes, q in [q0, q1): 16 positions per step with vector shuffles.
KESTREL_ISA_CLONES void interleave_three(const uint32_t* x, uint32_t* y, int64_t Q, int64_t q0, int64_t q1) {
  int64_t q = q0;
  for (; q + 16 <= q1; q += 16) {
    const U32x16 a = *reinterpret_cast<const UnalignedU32x16*>(x + q);
    const U32x16 b = *reinterpret_cast<const UnalignedU32x16*>(x + Q + q);
    const U32x16 c = *reinterpret_cast<const UnalignedU32x16*>(x + 2 * Q + q);
    for (int k = 0; k < 3; ++k)
      *reinterpret_cast<UnalignedU32x16*>(y + 3 * q + 16 * k) =
          __builtin_shuffle(__builtin_shuffle(a, b, kFirst[k]), c, kSecond[k]);
  }
  for (; q < q1; ++q)
    for (int64_t p = 0; p < 3; ++p) y[q * 3 + p] = x[p * Q + q];
}

// The same interleave for bytes, 16 positions a step (the masks index 16-lane vectors alike).
typedef uint8_t U8x16 __attribute__((vector_size(16)));
typedef uint8_t UnalignedU8x16 __attribute__((vector_size(16), aligned(1), may_alias));

KESTREL_ISA_CLONES void interleave_three(const uint8_t* x, uint8_t* y, int64_t Q, int64_t q0, int64_t q1) {
  U8x16 first[3], second[3];
  for (int k = 0; k < 3; ++k)
    for (int j = 0; j < 16; ++j) {
      first[k][j] = static_cast<uint8_t>(kFirst[k][j]);
      second[k][j] = static_cast<uint8_t>(kSecond[k][j]);
    }
  int64_t q = q0;
  for (; q + 16 <= q1; q += 16) {
    const U8x16 a = *reinterpret_cast<const UnalignedU8x16*>(x + q);
    const U8x16 b = *reinterpret_cast<const UnalignedU8x16*>(x + Q + q);
    const U8x16 c = *reinterpret_cast<const UnalignedU8x16*>(x + 2 * Q + q);
    for (int k = 0; k < 3; ++k)
      *reinterpret_cast<UnalignedU8x16*>(y + 3 * q + 16 * k) =
          __builtin_shuffle(__builtin_shuffle(a, b, first[k]), c, second[k]);
  }
  for (; q < q1; ++q)
    for (int64_t p = 0; p < 3; ++p) y[q * 3 + p] = x[p * Q + q];
}

// y[b][q][p] = x[b][p][q] for 3 planes of Q values each: chunks of Q split over the threads.
template <typename T>
void interleave_three_planes(const T* x, T* y, int64_t batch, int64_t Q, int threads) {
  constexpr int64_t kChunk = 4096;
  const int64_t chunks = (Q + kChunk - 1) / kChunk;
  parallel_ranges(batch * chunks, threads, batch * 3 * Q > 65536, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / chunks, q0 = task % chunks * kChunk;
      interleave_three(x + b * 3 * Q, y + b * 3 * Q, Q, q0, std::min(Q, q0 + kChunk));
    }
  });
}

// A full 16 x 16 tile of bytes: y[q * y_stride + p] = x[p * x_stride + q] for p, q < 16, in four rounds of
// interleaving (SSE2, every x86-64 CPU has it).
inline void transpose_tile_16x16(const uint8_t* x, int64_t x_stride, uint8_t* y, int64_t y_stride) {
  __m128i r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i * x_stride));
  for (int i = 0; i < 8; ++i) {  // bytes of rows 2i, 2i+1
    t[2 * i] = _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm_unpackhi_epi8(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i)  // pairs of rows 4i.., 4i+2..
    for (int h = 0; h < 2; ++h) {
      r[4 * i + 2 * h] = _mm_unpacklo_epi16(t[4 * i + h], t[4 * i + 2 + h]);
      r[4 * i + 2 * h + 1] = _mm_unpackhi_epi16(t[4 * i + h], t[4 * i + 2 + h]);
    }
  for (int i = 0; i < 2; ++i)  // quads of rows 8i.., 8i+4..
    for (int h = 0; h < 4; ++h) {
      t[8 * i + 2 * h] = _mm_unpacklo_epi32(r[8 * i + h], r[8 * i + 4 + h]);
      t[8 * i + 2 * h + 1] = _mm_unpackhi_epi32(r[8 * i + h], r[8 * i + 4 + h]);
    }
  for (int h = 0; h < 8; ++h) {  // octets of rows 0.., 8..
    r[2 * h] = _mm_unpacklo_epi64(t[h], t[8 + h]);
    r[2 * h + 1] = _mm_unpackhi_epi64(t[h], t[8 + h]);
  }
  for (int q = 0; q < 16; ++q) _mm_storeu_si128(reinterpret_cast<__m128i*>(y + q * y_stride), r[q]);
}

// y[b][q][p] = x[b][p][q] for b < batch, p < P, q < Q.
template <typename T>
void transpose_batches(const T* x, T* y, int64_t batch, int64_t P, int64_t Q, int threads) {
  if (P == 3) return interleave_three_planes(x, y, batch, Q, threads);
  const int64_t tiles_p = (P + kTile - 1) / kTile, tiles_q = (Q + kTile - 1) / kTile;
  const int64_t tasks = batch * tiles_p * tiles_q;
  parallel_ranges(tasks, threads, batch * P * Q > 65536, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / (tiles_p * tiles_q), rest = task % (tiles_p * tiles_q);
      const int64_t p0 = rest / tiles_q * kTile, q0 = rest % tiles_q * kTile;
      const int64_t p1 = std::min(P, p0 + kTile), q1 = std::min(Q, q0 + kTile);
      const T* xb = x + b * P * Q;
      T* yb = y + b * P * Q;
      if constexpr (sizeof(T) == 1) {
        if (p1 - p0 == kTile && q1 - q0 == kTile) {
          transpose_tile_16x16(xb + p0 * Q + q0, Q, yb + q0 * P + p0, P);
          continue;
        }
      }
      for (int64_t q = q0; q < q1; ++q)
        for (int64_t p = p0; p < p1; ++p) yb[q * P + p] = xb[p * Q + q];
    }
  });
}

class ChannelsTranspose final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    const TypeInfo& t = info.input_type(0);
    if (t.kind != TypeInfo::Kind::kTensor || t.element_type == ElementType::kUndefined ||
        t.element_type == ElementType::kString || !transposes_elements_of(element_size(t.element_type)) ||
        !info.has_attr("perm"))
      return nullptr;
    const std::vector<int64_t> perm = info.attr_ints("perm");
    const bool to_nhwc = perm == std::vector<int64_t>{0, 2, 3, 1};
    if (!to_nhwc && perm != std::vector<int64_t>{0, 3, 1, 2}) return nullptr;
    return std::make_unique<ChannelsTranspose>(info, to_nhwc);
  }

  ChannelsTranspose(const KernelInfo& info, bool to_nhwc)
      : to_nhwc_(to_nhwc), reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    if (X.rank() != 4 || X.type() == ElementType::kString || !transposes_elements_of(element_size(X.type())))
      return reference_->compute(ctx);
    const Shape& s = X.shape();
    const int64_t out[4] = {s[0], to_nhwc_ ? s[2] : s[3], to_nhwc_ ? s[3] : s[1], to_nhwc_ ? s[1] : s[2]};
    Tensor& Y =
        ctx.allocate_uninitialized_output_dims(0, X.type(), out);  // a permutation writes every element
    if (Y.size() == 0) return;
    // NCHW -> NHWC transposes [C, HW] per image; NHWC -> NCHW transposes [HW, C].
    const int64_t P = to_nhwc_ ? s[1] : s[1] * s[2], Q = to_nhwc_ ? s[2] * s[3] : s[3];
    if (element_size(X.type()) == 4)
      transpose_batches(static_cast<const uint32_t*>(X.raw_data()), static_cast<uint32_t*>(Y.raw_data()), s[0], P,
                        Q, ctx.intra_op_threads());
    else
      transpose_batches(static_cast<const uint8_t*>(X.raw_data()), static_cast<uint8_t*>(Y.raw_data()), s[0], P, Q,
                        ctx.intra_op_threads());
  }

 private:
  static bool transposes_elements_of(size_t bytes) { return bytes == 4 || bytes == 1; }

  bool to_nhwc_;
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(Transpose, "", 1, 12, "1- and 4-byte types", 11, &ChannelsTranspose::create);
KESTREL_FAST_KERNEL(Transpose, "", 13, 1000, "1- and 4-byte types", 11, &ChannelsTranspose::create);

}  // namespace kestrel::cpu
