// Fast Transpose for the two channels-last permutations of 4-D tensors with 4-byte (float) or 1-byte (int8)
// elements, (0,2,3,1) NCHW -> NHWC and (0,3,1,2) NHWC -> NCHW, which the layout_nhwc rule puts where an image
// enters a channels-last region and where features leave it. Each is a batch of 2-D transposes, [P, Q] -> [Q, P]
// per image, done in square tiles so both the reads and the writes stay within a few cache lines; tiles are split
// over the threads. A float image of 3 channels going channels-last (the input of most CNNs) instead interleaves
// its planes 16 values at a time with vector shuffles. Other permutations and element sizes are left to the other
// Transpose kernels.
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

// y[b][q][p] = x[b][p][q] for 3 planes of Q values each: chunks of Q split over the threads.
void interleave_three_planes(const uint32_t* x, uint32_t* y, int64_t batch, int64_t Q, int threads) {
  constexpr int64_t kChunk = 4096;
  const int64_t chunks = (Q + kChunk - 1) / kChunk;
  parallel_ranges(batch * chunks, threads, batch * 3 * Q > 65536, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / chunks, q0 = task % chunks * kChunk;
      interleave_three(x + b * 3 * Q, y + b * 3 * Q, Q, q0, std::min(Q, q0 + kChunk));
    }
  });
}

// y[b][q][p] = x[b][p][q] for b < batch, p < P, q < Q.
template <typename T>
void transpose_batches(const T* x, T* y, int64_t batch, int64_t P, int64_t Q, int threads) {
  if constexpr (sizeof(T) == 4) {
    if (P == 3) return interleave_three_planes(x, y, batch, Q, threads);
  }
  const int64_t tiles_p = (P + kTile - 1) / kTile, tiles_q = (Q + kTile - 1) / kTile;
  const int64_t tasks = batch * tiles_p * tiles_q;
  parallel_ranges(tasks, threads, batch * P * Q > 65536, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / (tiles_p * tiles_q), rest = task % (tiles_p * tiles_q);
      const int64_t p0 = rest / tiles_q * kTile, q0 = rest % tiles_q * kTile;
      const int64_t p1 = std::min(P, p0 + kTile), q1 = std::min(Q, q0 + kTile);
      const T* xb = x + b * P * Q;
      T* yb = y + b * P * Q;
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
