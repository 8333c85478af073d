// Fast Gelu (ONNX opset 20+ and ai.kestrel v1, float): 16 lanes at a time with a rational erf (or exp for the
// tanh form), see fast_common.h; AVX-512/AVX2/baseline picked at start-up, large tensors split over threads.
// Also the Gelu that the oneDNN FusedMatMul applies after its product (cheaper than oneDNN's gelu_erf
// post-op).
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "providers/cpu/kernels/fast/fast_common.h"

namespace kestrel::cpu {
namespace fast {
namespace {

inline __attribute__((always_inline)) void gelu_span(float* p, int64_t n, bool tanh_approximation) {
  Vec16 x;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    load16(x, p + i);
    if (tanh_approximation)
      gelu_tanh16(x);
    else
      gelu_erf16(x);
    store16(p + i, x);
  }
  if (i == n) return;
  float tail[16] = {};
  std::memcpy(tail, p + i, static_cast<size_t>(n - i) * sizeof(float));
  load16(x, tail);
  if (tanh_approximation)
    gelu_tanh16(x);
  else
    gelu_erf16(x);
  store16(tail, x);
  std::memcpy(p + i, tail, static_cast<size_t>(n - i) * sizeof(float));
}

__attribute__((target("avx512f,fma"))) void gelu_avx512(float* p, int64_t n, bool t) { gelu_span(p, n, t); }
__attribute__((target("avx2,fma"))) void gelu_avx2(float* p, int64_t n, bool t) { gelu_span(p, n, t); }
void gelu_baseline(float* p, int64_t n, bool t) { gelu_span(p, n, t); }

using GeluFn = void (*)(float*, int64_t, bool);

GeluFn pick_gelu() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return gelu_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return gelu_avx2;
  return gelu_baseline;
}

const GeluFn kGelu = pick_gelu();

}  // namespace

void gelu_in_place(float* data, int64_t n, bool tanh_approximation, int threads) {
  const GeluFn fn = kGelu;
  if (threads <= 1 || n < (int64_t{1} << 16)) return fn(data, n, tanh_approximation);
#pragma omp parallel num_threads(threads)
  {
    // Whole vectors per thread, so that only the last part has a tail.
    const int64_t parts = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t per = (n + parts * 16 - 1) / (parts * 16) * 16;
    const int64_t begin = std::min(n, t * per), end = std::min(n, begin + per);
    if (begin < end) fn(data + begin, end - begin, tanh_approximation);
  }
}

}  // namespace fast

namespace {

class FastGelu final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!fast::input_is_float(info, 0)) return nullptr;
    const std::string approximate = info.attr_string("approximate", "none");
    if (approximate != "none" && approximate != "tanh") return nullptr;  // the reference kernel reports it
    return std::make_unique<FastGelu>(approximate == "tanh", fast::reference_kernel(info));
  }

  FastGelu(bool tanh_approximation, std::unique_ptr<Kernel> reference)
      : tanh_(tanh_approximation), reference_(std::move(reference)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    if (X.type() != ElementType::kFloat) return reference_->compute(ctx);
    Tensor& Y = ctx.allocate_output(0, ElementType::kFloat, X.shape());
    if (Y.size() == 0) return;
    std::memcpy(Y.data<float>(), X.data<float>(), static_cast<size_t>(X.size()) * sizeof(float));
    fast::gelu_in_place(Y.data<float>(), Y.size(), tanh_, ctx.intra_op_threads());
  }

 private:
  bool tanh_;
  std::unique_ptr<Kernel> reference_;
};

}  // namespace

KESTREL_FAST_KERNEL(Gelu, "", 20, 1000, "float", 10, &FastGelu::create);
KESTREL_FAST_KERNEL(Gelu, "ai.kestrel", 1, 1000, "float", 10, &FastGelu::create);

}  // namespace kestrel::cpu
