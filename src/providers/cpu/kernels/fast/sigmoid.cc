// Fast Sigmoid (ONNX opset 6+, float): 1 / (1 + exp(-x)) 16 lanes at a time with exp_fast16 (fast_common.h);
// AVX-512/AVX2/baseline picked at start-up, large tensors split over threads. QDQ models keep SiLU's Sigmoid as
// its own node between the int8 convolutions (EfficientNet: one per block), where the reference kernel's
// std::exp per element dominated the run.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "providers/cpu/kernels/fast/fast_common.h"

namespace kestrel::cpu {
namespace fast {
namespace {

inline __attribute__((always_inline)) void sigmoid16(Vec16& x) {
  // exp(-x) is inf below x = -88.4 (y = 0, where the true value is below 1e-38) and 0 above x = 87.3 (y = 1).
  Vec16 e = -x;
  exp_fast16(e);
  x = 1.0f / (1.0f + e);
}

inline __attribute__((always_inline)) void sigmoid_span(const float* in, float* out, int64_t n) {
  Vec16 x;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    load16(x, in + i);
    sigmoid16(x);
    store16(out + i, x);
  }
  if (i == n) return;
  float tail[16] = {};
  std::memcpy(tail, in + i, static_cast<size_t>(n - i) * sizeof(float));
  load16(x, tail);
  sigmoid16(x);
  store16(tail, x);
  std::memcpy(out + i, tail, static_cast<size_t>(n - i) * sizeof(float));
}

__attribute__((target("avx512f,fma"))) void sigmoid_avx512(const float* in, float* out, int64_t n) {
  sigmoid_span(in, out, n);
}
__attribute__((target("avx2,fma"))) void sigmoid_avx2(const float* in, float* out, int64_t n) {
  sigmoid_span(in, out, n);
}
void sigmoid_baseline(const float* in, float* out, int64_t n) { sigmoid_span(in, out, n); }

using SigmoidFn = void (*)(const float*, float*, int64_t);

SigmoidFn pick_sigmoid() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return sigmoid_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return sigmoid_avx2;
  return sigmoid_baseline;
}

const SigmoidFn kSigmoid = pick_sigmoid();

class FastSigmoid final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!input_is_float(info, 0)) return nullptr;
    return std::make_unique<FastSigmoid>(reference_kernel(info));
  }

  explicit FastSigmoid(std::unique_ptr<Kernel> reference) : reference_(std::move(reference)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    if (X.type() != ElementType::kFloat) return reference_->compute(ctx);
    Tensor& Y = ctx.allocate_output(0, ElementType::kFloat, X.shape());
    const int64_t n = Y.size();
    const float* x = X.data<float>();
    float* y = Y.data<float>();
    const int threads = ctx.intra_op_threads();
    if (threads <= 1 || n < (int64_t{1} << 16)) return kSigmoid(x, y, n);
#pragma omp parallel num_threads(threads)
    {
      // Whole vectors per thread, so that only the last part has a tail.
      const int64_t parts = omp_get_num_threads(), t = omp_get_thread_num();
      const int64_t per = (n + parts * 16 - 1) / (parts * 16) * 16;
      const int64_t begin = std::min(n, t * per), end = std::min(n, begin + per);
      if (begin < end) kSigmoid(x + begin, y + begin, end - begin);
    }
  }

 private:
  std::unique_ptr<Kernel> reference_;
};

}  // namespace
}  // namespace fast

KESTREL_FAST_KERNEL(Sigmoid, "", 6, 1000, "float", 10, &fast::FastSigmoid::create);

}  // namespace kestrel::cpu
