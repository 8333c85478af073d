// Fast Transpose for the two channels-last permutations of 4-D tensors with 4-byte elements, (0,2,3,1) NCHW ->
// NHWC and (0,3,1,2) NHWC -> NCHW, which the layout_nhwc rule puts where an image enters a channels-last region
// and where features leave it. Each is a batch of 2-D transposes, [P, Q] -> [Q, P] per image, done in square
// tiles so both the reads and the writes stay within a few cache lines; tiles are split over the threads.
// Other permutations and element sizes are left to the other Transpose kernels.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "providers/cpu/kernels/fast/fast_common.h"

namespace kestrel::cpu {
namespace {

constexpr int64_t kTile = 16;

// y[b][q][p] = x[b][p][q] for b < batch, p < P, q < Q.
void transpose_batches(const uint32_t* x, uint32_t* y, int64_t batch, int64_t P, int64_t Q, int threads) {
  const int64_t tiles_p = (P + kTile - 1) / kTile, tiles_q = (Q + kTile - 1) / kTile;
  const int64_t tasks = batch * tiles_p * tiles_q;
  parallel_ranges(tasks, threads, batch * P * Q > 65536, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / (tiles_p * tiles_q), rest = task % (tiles_p * tiles_q);
      const int64_t p0 = rest / tiles_q * kTile, q0 = rest % tiles_q * kTile;
      const int64_t p1 = std::min(P, p0 + kTile), q1 = std::min(Q, q0 + kTile);
      const uint32_t* xb = x + b * P * Q;
      uint32_t* yb = y + b * P * Q;
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
        t.element_type == ElementType::kString || element_size(t.element_type) != 4 || !info.has_attr("perm"))
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
    if (X.rank() != 4 || X.type() == ElementType::kString || element_size(X.type()) != 4)
      return reference_->compute(ctx);
    const Shape& s = X.shape();
    const int64_t out[4] = {s[0], to_nhwc_ ? s[2] : s[3], to_nhwc_ ? s[3] : s[1], to_nhwc_ ? s[1] : s[2]};
    Tensor& Y = ctx.allocate_uninitialized_output_dims(0, X.type(), out);  // a permutation writes every element
    if (Y.size() == 0) return;
    // NCHW -> NHWC transposes [C, HW] per image; NHWC -> NCHW transposes [HW, C].
    const int64_t P = to_nhwc_ ? s[1] : s[1] * s[2], Q = to_nhwc_ ? s[2] * s[3] : s[3];
    transpose_batches(static_cast<const uint32_t*>(X.raw_data()), static_cast<uint32_t*>(Y.raw_data()), s[0], P,
                      Q, ctx.intra_op_threads());
  }

 private:
  bool to_nhwc_;
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(Transpose, "", 1, 12, "4-byte types", 11, &ChannelsTranspose::create);
KESTREL_FAST_KERNEL(Transpose, "", 13, 1000, "4-byte types", 11, &ChannelsTranspose::create);

}  // namespace kestrel::cpu
