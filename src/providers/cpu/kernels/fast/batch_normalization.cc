// Fast inference BatchNormalization of float tensors (per channel, the parameters one value per channel):
// y = x a + b with the reference's a = scale / sqrt(var + epsilon) and b = B - mean a (computed in double,
// rounded to float), each image's channel planes 16 values at a time with AVX-512, the multiply and the add
// rounded separately as in the reference (no fused multiply-add), so outputs are identical. Such nodes are left
// where a quantized model keeps them in float between int8 ops outside a channels-last region. Training mode,
// per-position parameters (spatial = 0), the statistics outputs of old opsets, other types and CPUs without
// AVX-512 keep the reference kernel.
#include <immintrin.h>

#include <cmath>
#include <vector>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/fast/quantize_simd.h"
#include "providers/cpu/kernels/fast/tail_mask.h"

namespace kestrel::cpu {
namespace {

// y[i] = x[i] * a + b for i < n, each operation rounded.
__attribute__((target("avx512f"))) void affine_plane(const float* x, int64_t n, float a, float b, float* y) {
  constexpr int kNear = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = fast::tail_mask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_add_round_ps(_mm512_mul_round_ps(v, va, kNear), vb, kNear));
  }
}

class FastBatchNormalization final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!fast::has_avx512()) return nullptr;
    if (info.opset() >= 14 && info.attr_int("training_mode", 0) != 0) return nullptr;
    if (info.opset() < 9 && info.attr_int("spatial", 1) == 0) return nullptr;
    return std::make_unique<FastBatchNormalization>(info);
  }
  explicit FastBatchNormalization(const KernelInfo& info)
      : reference_(fast::reference_kernel(info)), epsilon_(info.attr_float("epsilon", 1e-5f)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    if (X.type() != ElementType::kFloat || X.rank() < 2 || ctx.num_outputs() > 1) return reference_->compute(ctx);
    const int64_t N = X.dim(0), C = X.dim(1), S = dims_product(X.shape(), 2, X.rank());
    for (size_t i = 1; i <= 4; ++i)
      if (ctx.input(i).type() != ElementType::kFloat || ctx.input(i).size() != C) return reference_->compute(ctx);
    const float* scale = ctx.input(1).data<float>();
    const float* bias = ctx.input(2).data<float>();
    const float* mean = ctx.input(3).data<float>();
    const float* var = ctx.input(4).data<float>();
    Tensor& Y = ctx.allocate_uninitialized_output(0, ElementType::kFloat, X.shape());  // every element written
    const float* x = X.data<float>();
    float* y = Y.data<float>();
    const int threads = ctx.intra_op_threads();
    parallel_ranges(N * C, threads, X.size() >= (int64_t{1} << 18), [&](int64_t begin, int64_t end) {
      for (int64_t nc = begin; nc < end; ++nc) {
        const int64_t c = nc % C;
        const double a = static_cast<double>(scale[c]) / std::sqrt(static_cast<double>(var[c]) + epsilon_);
        const double b = static_cast<double>(bias[c]) - static_cast<double>(mean[c]) * a;
        affine_plane(x + nc * S, S, static_cast<float>(a), static_cast<float>(b), y + nc * S);
      }
    });
  }

 private:
  std::unique_ptr<Kernel> reference_;
  float epsilon_;
};

}  // namespace

KESTREL_FAST_KERNEL(BatchNormalization, "", 1, 1000, "float", 10, &FastBatchNormalization::create);

}  // namespace kestrel::cpu
