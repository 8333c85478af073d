// Fast ai.kestrel DynamicQuantizeMatMul for constant weights: A quantized to u8 in two vectorised passes
// (quantize_simd.h), the packed u8 x s8 product of int8_mat_mul.h, zero points removed and one pass for the
// scales and the bias that also applies a Gelu (fast_common.h's, about half the cost of oneDNN's gelu_erf),
// at 2+ threads all in one parallel region, each thread multiplying all rows by its own slice of the weights'
// columns (one block of rows per thread when the columns are too few); any other activation as a oneDNN
// eltwise primitive over the output (the reference's loop for HardSigmoid). Without
// activation bit-identical to the reference kernel (kernels/kestrel/dynamic_quantize_mat_mul.cc).
#include <omp.h>

#include <algorithm>

#include "providers/cpu/dnnl/int8_mat_mul.h"
#include "providers/cpu/dnnl/post_ops.h"
#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/fast/quantize_simd.h"

namespace kestrel::cpu {
namespace {

class DnnlDynamicQuantizeMatMul final : public Kernel {
 public:
  // Rows each thread needs before the blocks are shared out rather than each block's columns.
  static constexpr int64_t kMinRowsPerThread = 4;
  // Weights (s8 bytes) from which each thread multiplies by its own slice of the columns.
  static constexpr int64_t kMinColumnSplitWeightBytes = int64_t{512} << 10;
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (info.has_input(3) && !info.constant_input(3)) return nullptr;
    const Tensor* b = info.constant_input(1);
    const Tensor* b_scale = info.constant_input(2);
    if (!b || !b_scale || b_scale->type() != ElementType::kFloat || b->rank() != 2) return nullptr;
    const bool scalar = b_scale->size() == 1 && b_scale->rank() <= 1;
    if (!scalar && !(b_scale->rank() == 1 && b_scale->dim(0) == b->dim(1))) return nullptr;
    auto weights = Int8PackedWeights::from_constants(b, info.has_input(3) ? info.constant_input(3) : nullptr);
    if (!weights) return nullptr;
    return std::make_unique<DnnlDynamicQuantizeMatMul>(info, std::move(weights), *b_scale);
  }
  DnnlDynamicQuantizeMatMul(const KernelInfo& info, std::unique_ptr<Int8PackedWeights> weights,
                            const Tensor& b_scale)
      : reference_(fast::reference_kernel(info)), weights_(std::move(weights)), act_(FusedActivation::parse(info)) {
    use_eltwise_ = dnnl_backend::single_eltwise(act_, alg_, alpha_, beta_);
    const float* s = b_scale.data<float>();
    for (int64_t n = 0; n < weights_->N(); ++n) b_scale_.push_back(s[b_scale.size() == 1 ? 0 : n]);
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& A = ctx.input(0);
    const Tensor* bias = ctx.optional_input(4);
    const int64_t K = weights_->K(), N = weights_->N();
    if (A.type() != ElementType::kFloat || A.rank() == 0 || A.dim(A.rank() - 1) != K ||
        (bias && (bias->type() != ElementType::kFloat || bias->rank() != 1 || bias->dim(0) != N)))
      return reference_->compute(ctx);  // it reports what is wrong
    const int64_t rows = dims_product(A.shape(), 0, A.rank() - 1);
    Shape out = A.shape();
    out.back() = N;
    // Uninitialised: every block writes all of its rows.
    Tensor& Y = ctx.allocate_uninitialized_output(0, ElementType::kFloat, out);
    const int threads = ctx.intra_op_threads();
    const float* x = A.data<float>();
    uint8_t* q = static_cast<uint8_t*>(dnnl_backend::thread_scratch(0, static_cast<size_t>(A.size()) + 1));
    const float* b = bias ? bias->data<float>() : nullptr;
    float* y = Y.data<float>();
    using Kind = FusedActivation::Kind;
    const bool gelu = act_.kind == Kind::kGelu || act_.kind == Kind::kGeluTanh;
    const bool own_activation = act_.kind != Kind::kNone && !use_eltwise_;
    // With rows enough for every thread, the whole op is one parallel region: each thread scans its own
    // block of rows for A's range, the team agrees on the quantization parameters at a barrier, each thread
    // quantizes its rows, and after a second barrier each multiplies and scales its share (Gelu applied)
    // while its int32 sums are still in its core's cache (not a quantization region, then a product over the
    // team, then a pass over the sums). Otherwise one block on the calling thread, oneDNN splitting its
    // columns when the work is large (a single-row product). Smaller blocks that keep the sums in L2 measured
    // no faster: each re-reads the weights.
    const int team = dnnl_backend::threads_for(rows * N * K, threads);
    const bool shared = team > 1 && rows >= team * kMinRowsPerThread;
    // Large weights with a 64-column block per thread: each thread multiplies all rows by its own slice of
    // the weights (half the weight reads of each thread at 2 threads, measured 10 % faster on bert_base's
    // products, whose weights come from memory); otherwise each thread takes a block of rows (bert_mini's
    // weights of 64-256 KiB, which stay in cache, measured 2.5 % slower by columns).
    const bool split_columns = shared && N >= team * 64 && K * N >= kMinColumnSplitWeightBytes;
    const bool split_rows = shared && !split_columns;
    const int64_t blocks = rows == 0 ? 0 : split_rows ? team : 1;
    const int64_t block = blocks == 0 ? 1 : (rows + blocks - 1) / blocks;
    // Per column: the scale and, without weight zero points, the activation's share -za * column sum (which
    // then rides along in the scaling pass), for columns [n0, n1).
    std::vector<float> scales(static_cast<size_t>(N));
    std::vector<int32_t> offsets(weights_->has_zero_points() ? 0 : static_cast<size_t>(N));
    const int32_t* off = offsets.empty() ? nullptr : offsets.data();
    const auto column_factors = [&](const fast::DynamicQuantParams& p, int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n) {
        scales[static_cast<size_t>(n)] = p.scale * b_scale_[static_cast<size_t>(n)];
        if (off) offsets[static_cast<size_t>(n)] = -int32_t{p.zero_point} * weights_->column_sum(n);
      }
    };
    // Scales rows [r0, r0 + nr) of columns [n0, n1) from their sums acc[nr, n1 - n0] into Y (the zero points'
    // shares removed first), activation included.
    const auto finish = [&](int32_t* acc, const uint8_t* qb, int64_t r0, int64_t nr, int64_t n0, int64_t n1,
                            int32_t za) {
      const int64_t width = n1 - n0;
      if (weights_->has_zero_points())
        weights_->remove_zero_points(
            acc, nr, [za](int64_t) { return za; }, row_sums_u8(qb, nr, K), n0, n1);
      for (int64_t r = 0; r < nr; ++r) {
        float* yr = y + (r0 + r) * N + n0;
        fast::scale_and_bias(acc + r * width, width, off ? off + n0 : nullptr, scales.data() + n0,
                             b ? b + n0 : nullptr, yr);
        if (gelu) fast::gelu_in_place(yr, width, act_.kind == Kind::kGeluTanh, 1);
        if (own_activation) act_.apply(yr, width);
      }
    };
    const int product_team = split_rows ? 1 : team;
    const auto run_blocks = [&](int64_t b0, int64_t b1, int32_t za) {
      const size_t acc_bytes = static_cast<size_t>(block * N) * 4 + 4;
      int32_t* acc = static_cast<int32_t*>(dnnl_backend::thread_scratch(2, acc_bytes));
      for (int64_t blk = b0; blk < b1; ++blk) {
        const int64_t r0 = blk * block, nr = std::min(rows, r0 + block) - r0;
        const uint8_t* qb = q + r0 * K;
        weights_->multiply(qb, nr, acc, product_team);
        finish(acc, qb, r0, nr, 0, N, za);
      }
    };
    if (!shared) {
      const fast::DynamicQuantParams p = fast::dynamic_quantize(x, A.size(), q, threads);
      column_factors(p, 0, N);
      run_blocks(0, blocks, p.zero_point);
    } else {
      constexpr int kMaxTeam = 64;
      const int slices = std::min(team, kMaxTeam);
      if (split_columns) {
        weights_->prepare_column_slices(rows, slices);
      } else {
        weights_->prepare(block, 1);
        const int64_t last = rows - (blocks - 1) * block;
        if (last > 0) weights_->prepare(last, 1);
      }
      float los[kMaxTeam], his[kMaxTeam];
#pragma omp parallel num_threads(slices)
      {
        const int t = omp_get_thread_num(), parts = omp_get_num_threads();
        // Each thread scans and quantizes a share of A's rows (its row blocks when split by rows).
        const int64_t row_blocks = split_rows ? blocks : parts;
        const int64_t row_block = (rows + row_blocks - 1) / row_blocks;
        const int64_t b0 = row_blocks * t / parts, b1 = row_blocks * (t + 1) / parts;
        const int64_t r0 = std::min(rows, b0 * row_block), r1 = std::min(rows, b1 * row_block);
        float lo = 0, hi = 0;
        fast::range_with_zero(x + r0 * K, (r1 - r0) * K, lo, hi, 1);
        los[t] = lo;
        his[t] = hi;
#pragma omp barrier
        // Min and max do not depend on the order: the parameters are the serial ones.
        const float lo_all = *std::min_element(los, los + parts);
        const float hi_all = *std::max_element(his, his + parts);
        const fast::DynamicQuantParams p = fast::dynamic_quant_params(lo_all, hi_all);
        // Each thread's slices (one each unless OpenMP gave a smaller team than asked for).
        const int s0 = slices * t / parts, s1 = slices * (t + 1) / parts;
        if (split_columns) {
          for (int sl = s0; sl < s1; ++sl) {
            const auto [n0, n1] = weights_->column_slice(sl, slices);
            column_factors(p, n0, n1);
          }
        } else {
          column_factors(p, N * t / parts, N * (t + 1) / parts);
        }
        if (p.scale > 0)
          fast::quantize(x + r0 * K, (r1 - r0) * K, p.scale, static_cast<float>(p.zero_point), q + r0 * K, 1);
        else
          std::fill(q + r0 * K, q + r1 * K, p.zero_point);
#pragma omp barrier
        // q is whole now; by rows, every column's factors are written too.
        if (split_columns) {
          for (int sl = s0; sl < s1; ++sl) {
            const auto [n0, n1] = weights_->column_slice(sl, slices);
            const size_t acc_bytes = static_cast<size_t>(rows * (n1 - n0)) * 4 + 4;
            int32_t* acc = static_cast<int32_t*>(dnnl_backend::thread_scratch(2, acc_bytes));
            weights_->multiply_column_slice(q, rows, sl, slices, acc);
            finish(acc, q, 0, rows, n0, n1, p.zero_point);
          }
        } else {
          run_blocks(b0, b1, p.zero_point);
        }
      }
    }
    if (act_.kind == Kind::kNone || gelu || !use_eltwise_ || Y.size() == 0) return;
    namespace dn = dnnl_backend;
    const int eltwise_team = dn::threads_for(Y.size() * 16, threads);
    dn::ThreadScope scope(eltwise_team);
    const auto plan = activations_.get({Y.size(), eltwise_team}, [&] {
      const dnnl::memory::desc md({Y.size()}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
      const dnnl::eltwise_forward::primitive_desc pd(
          dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, alg_, md, alpha_, beta_),
          dn::user_scratchpad_attr(), dn::engine());
      auto p = std::make_shared<ActivationPlan>();
      p->eltwise = dnnl::eltwise_forward(pd);
      p->md = md;
      p->scratchpad = pd.scratchpad_desc();
      return std::shared_ptr<const ActivationPlan>(std::move(p));
    });
    const dnnl::memory m(plan->md, dn::engine(), y);
    dn::execute(plan->eltwise, plan->scratchpad, {{DNNL_ARG_SRC, m}, {DNNL_ARG_DST, m}});
  }

 private:
  std::unique_ptr<Kernel> reference_;
  std::unique_ptr<Int8PackedWeights> weights_;
  std::vector<float> b_scale_;  // per column
  FusedActivation act_;
  bool use_eltwise_ = false;
  dnnl::algorithm alg_ = dnnl::algorithm::eltwise_relu;
  float alpha_ = 0, beta_ = 0;
  struct ActivationPlan {
    dnnl::primitive eltwise;
    dnnl::memory::desc md, scratchpad;
  };
  mutable dnnl_backend::PrimitiveCache<std::pair<int64_t, int>, ActivationPlan> activations_;
};

}  // namespace

KESTREL_FAST_KERNEL(DynamicQuantizeMatMul, "ai.kestrel", 1, 1000, "float, uint8, int8 -> float", 10,
                    &DnnlDynamicQuantizeMatMul::create);

}  // namespace kestrel::cpu
