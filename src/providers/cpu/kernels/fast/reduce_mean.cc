// Fast ReduceMean (float) when the reduced axes are one contiguous run of dims: the input is then
// [outer, reduced, inner] and each output row of `inner` means is a vectorised sum of `reduced` rows. This is
// GlobalAveragePool of channels-last tensors (axes H, W of NHWC) and the mean over the last axis of
// normalisations. Other axes, empty reductions and axes given at run time go to the reference kernel.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "runtime/inline_shape.h"

namespace kestrel::cpu {
namespace {

constexpr int64_t kBlock = 64;  // output means computed together, across the inner dim

// y[o] = mean of the contiguous run x[o * reduced ...] for o in [o_begin, o_end).
KESTREL_ISA_CLONES void mean_runs(const float* x, float* y, int64_t reduced, float inv, int64_t o_begin,
                                  int64_t o_end) {
  for (int64_t o = o_begin; o < o_end; ++o) {
    const float* xo = x + o * reduced;
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t r = 0; r < reduced; ++r) sum += xo[r];
    y[o] = sum * inv;
  }
}

// Sums of `rows` rows of NV * 16 floats, rows `stride` floats apart, into out: the accumulators stay in
// registers, and even and odd rows go to separate ones so that consecutive additions do not wait on each
// other (global pooling sums thousands of pixel rows of a few vectors each).
template <int NV>
inline __attribute__((always_inline)) void sum_vectors(const float* x, int64_t rows, int64_t stride,
                                                       float* out) {
  fast::Vec16 even[NV], odd[NV], v;
  for (int k = 0; k < NV; ++k) even[k] = odd[k] = fast::Vec16{};
  int64_t r = 0;
  for (; r + 2 <= rows; r += 2) {
    const float* a = x + r * stride;
    for (int k = 0; k < NV; ++k) {
      fast::load16(v, a + 16 * k);
      even[k] += v;
      fast::load16(v, a + stride + 16 * k);
      odd[k] += v;
    }
  }
  for (; r < rows; ++r)
    for (int k = 0; k < NV; ++k) {
      fast::load16(v, x + r * stride + 16 * k);
      even[k] += v;
    }
  for (int k = 0; k < NV; ++k) fast::store16(out + 16 * k, even[k] + odd[k]);
}

// out[i] = sum over `rows` rows (`stride` floats apart) of x[row][i], for i < n <= kBlock.
inline __attribute__((always_inline)) void sum_block(const float* x, int64_t rows, int64_t stride, int64_t n,
                                                     float* out) {
  switch (n) {
    case 16:
      return sum_vectors<1>(x, rows, stride, out);
    case 32:
      return sum_vectors<2>(x, rows, stride, out);
    case 48:
      return sum_vectors<3>(x, rows, stride, out);
    case 64:
      return sum_vectors<4>(x, rows, stride, out);
    default:
      break;
  }
  for (int64_t i = 0; i < n; ++i) out[i] = 0.0f;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * stride;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] += row[i];
  }
}

// Tasks [task_begin, task_end) of (outer row, block of kBlock inner means).
KESTREL_ISA_CLONES void mean_blocks(const float* x, float* y, int64_t reduced, int64_t inner, float inv,
                                    int64_t task_begin, int64_t task_end) {
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  for (int64_t task = task_begin; task < task_end; ++task) {
    const int64_t o = task / blocks, i0 = task % blocks * kBlock, n = std::min(kBlock, inner - i0);
    float acc[kBlock];
    sum_block(x + o * reduced * inner + i0, reduced, inner, n, acc);
    float* yo = y + o * inner + i0;
    for (int64_t i = 0; i < n; ++i) yo[i] = acc[i] * inv;
  }
}

// The partial sums of rows [r0, r1) of every outer row, into part[outer][inner].
KESTREL_ISA_CLONES void partial_sums_of_rows(const float* x, float* part, int64_t outer, int64_t reduced,
                                             int64_t inner, int64_t r0, int64_t r1) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i0 = 0; i0 < inner; i0 += kBlock)
      sum_block(x + (o * reduced + r0) * inner + i0, r1 - r0, inner, std::min(kBlock, inner - i0),
                part + o * inner + i0);
}

KESTREL_ISA_CLONES void mean_rows(const float* x, float* y, int64_t outer, int64_t reduced, int64_t inner,
                                  int threads) {
  const float inv = 1.0f / static_cast<float>(reduced);
  if (inner == 1) {  // contiguous runs: one horizontal sum each
    parallel_ranges(outer, threads, outer * reduced > 65536,
                    [&](int64_t begin, int64_t end) { mean_runs(x, y, reduced, inv, begin, end); });
    return;
  }
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  const bool big = threads > 1 && outer * reduced * inner > 65536;
  if (big && outer * blocks < threads) {
    // Too few output blocks to share (global pooling: outer 1, a few channel blocks): each thread sums a
    // slice of the reduced rows, then the partial sums are added in thread order. The partial sums live in a
    // per-thread buffer that only grows, so steady-state runs allocate nothing.
    thread_local std::vector<float> partial_sums;
    const size_t partial_size = static_cast<size_t>(threads * outer * inner);
    if (partial_sums.size() < partial_size) partial_sums.resize(partial_size);
    // A thread of a smaller team than asked for leaves its slice zero.
    std::fill(partial_sums.begin(), partial_sums.begin() + static_cast<std::ptrdiff_t>(partial_size), 0.0f);
    float* partial = partial_sums.data();
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num(), team = omp_get_num_threads();
      const int64_t r0 = reduced * t / team, r1 = reduced * (t + 1) / team;
      partial_sums_of_rows(x, partial + t * outer * inner, outer, reduced, inner, r0, r1);
    }
    for (int64_t k = 0; k < outer * inner; ++k) {
      float sum = 0;
      for (int t = 0; t < threads; ++t) sum += partial[t * outer * inner + k];
      y[k] = sum * inv;
    }
    return;
  }
  parallel_ranges(outer * blocks, threads, big,
                  [&](int64_t begin, int64_t end) { mean_blocks(x, y, reduced, inner, inv, begin, end); });
}

class FastReduceMean final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!fast::input_is_float(info, 0)) return nullptr;
    std::vector<int64_t> axes;
    if (info.opset() < 18) {
      axes = info.attr_ints("axes", {});
    } else if (info.has_input(1)) {
      const Tensor* a = info.constant_input(1);
      if (!a || a->type() != ElementType::kInt64) return nullptr;
      axes.assign(a->data<int64_t>(), a->data<int64_t>() + a->size());
    }
    if (axes.empty()) return nullptr;  // all axes, or noop_with_empty_axes: the reference's rules
    return std::make_unique<FastReduceMean>(info, std::move(axes));
  }

  FastReduceMean(const KernelInfo& info, std::vector<int64_t> axes)
      : reference_(fast::reference_kernel(info)),
        axes_(std::move(axes)),
        keepdims_(info.attr_int("keepdims", 1) != 0) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    if (X.type() != ElementType::kFloat || X.size() == 0) return reference_->compute(ctx);
    const int64_t rank = static_cast<int64_t>(X.rank());
    if (rank > static_cast<int64_t>(runtime::InlineShape::kCapacity)) return reference_->compute(ctx);
    bool reduce[runtime::InlineShape::kCapacity] = {};
    for (int64_t a : axes_) {
      const int64_t axis = a < 0 ? a + rank : a;
      if (axis < 0 || axis >= rank || reduce[axis]) return reference_->compute(ctx);  // its error message
      reduce[axis] = true;
    }
    // The reduced axes must be one run [first, last] once size-1 dims (which change no layout) are ignored.
    int64_t first = rank, last = -1;
    for (int64_t i = 0; i < rank; ++i)
      if (reduce[i] && X.dim(i) != 1) first = std::min(first, i), last = std::max(last, i);
    for (int64_t i = first; i <= last; ++i)
      if (!reduce[i] && X.dim(i) != 1) return reference_->compute(ctx);
    int64_t outer = 1, reduced = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) {
      if (reduce[i])
        reduced *= X.dim(i);
      else if (i < first)
        outer *= X.dim(i);
      else
        inner *= X.dim(i);
    }
    runtime::InlineShape ys;
    for (int64_t i = 0; i < rank; ++i) {
      if (!reduce[i])
        ys.push_back(X.dim(i));
      else if (keepdims_)
        ys.push_back(1);
    }
    Tensor& Y =
        ctx.allocate_uninitialized_output_dims(0, ElementType::kFloat, ys.span());  // one mean per element
    mean_rows(X.data<float>(), Y.data<float>(), outer, reduced, inner, ctx.intra_op_threads());
  }

 private:
  std::unique_ptr<Kernel> reference_;
  std::vector<int64_t> axes_;
  bool keepdims_;
};

}  // namespace

KESTREL_FAST_KERNEL(ReduceMean, "", 1, 1000, "float", 10, &FastReduceMean::create);

}  // namespace kestrel::cpu
