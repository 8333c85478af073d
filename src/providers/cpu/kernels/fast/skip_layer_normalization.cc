// Fast SkipLayerNormalization (ai.kestrel v1, float): x + skip (+ bias) and the normalisation in one pass
// over each row's cache lines (layer_norm_rows.h), rows split over the session's threads. Skip must have X's
// shape or X's trailing dims (repeating over the leading ones); other broadcasts go to the reference kernel.
#include <span>

#include "providers/cpu/kernels/fast/layer_norm_rows.h"

namespace kestrel::cpu {
namespace {

class FastSkipLayerNormalization final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    for (size_t i = 0; i < 5; ++i)
      if (info.has_input(i) && !fast::input_is_float(info, i)) return nullptr;
    return std::make_unique<FastSkipLayerNormalization>(info);
  }

  explicit FastSkipLayerNormalization(const KernelInfo& info)
      : epsilon_(info.attr_float("epsilon", 1e-12f)), reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const Tensor& skip = ctx.input(1);
    const Tensor& gamma = ctx.input(2);
    const Tensor* beta = ctx.optional_input(3);
    const Tensor* bias = ctx.optional_input(4);
    for (const Tensor* t : {&X, &skip, &gamma, beta, bias})
      if (t && t->type() != ElementType::kFloat) return reference_->compute(ctx);
    if (X.rank() < 1 || X.size() == 0) return reference_->compute(ctx);
    const int64_t D = X.dim(X.rank() - 1);
    if (gamma.size() != D || (beta && beta->size() != D) || (bias && bias->size() != D))
      return reference_->compute(ctx);
    // Skip's shape, leading 1s dropped, must be a suffix of X's covering at least the last dim.
    std::span<const int64_t> s = skip.shape();
    while (!s.empty() && s.front() == 1 && s.size() > 1) s = s.subspan(1);
    if (s.empty() || s.size() > X.rank() || !std::equal(s.begin(), s.end(), X.shape().end() - s.size()))
      return reference_->compute(ctx);
    // Uninitialised: norm_rows writes every row.
    Tensor& Y = ctx.allocate_uninitialized_output_dims(0, ElementType::kFloat, X.shape());
    fast::NormRows job;
    job.x = X.data<float>();
    job.skip = skip.data<float>();
    job.skip_rows = skip.size() / D;
    job.bias = bias ? bias->data<float>() : nullptr;
    job.gamma = gamma.data<float>();
    job.beta = beta ? beta->data<float>() : nullptr;
    job.y = Y.data<float>();
    job.D = D;
    job.rows = X.size() / D;
    job.epsilon = epsilon_;
    fast::norm_rows(job, ctx.intra_op_threads());
  }

 private:
  float epsilon_;
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(SkipLayerNormalization, "ai.kestrel", 1, 1000, "float", 10,
                    &FastSkipLayerNormalization::create);

}  // namespace kestrel::cpu
