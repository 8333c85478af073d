// Fast float Relu and Sigmoid (the activations left standing where no convolution or matmul could absorb
// them, e.g. after a ConvTranspose or at a model's output): one vectorised pass, split over the session's
// threads when large. Other types go to the reference kernel. Each op registers in its own file.
#pragma once

#include <omp.h>

#include <algorithm>

#include "providers/cpu/kernels/fast/fast_common.h"

namespace kestrel::cpu::fast {

enum class UnaryActivation { kRelu, kSigmoid };

template <UnaryActivation kOp>
KESTREL_ISA_CLONES void unary_activation_span(const float* x, float* y, int64_t begin, int64_t end) {
  int64_t i = begin;
  for (; i + 16 <= end; i += 16) {
    Vec16 v;
    load16(v, x + i);
    if constexpr (kOp == UnaryActivation::kRelu) {
      v = v < 0.0f ? Vec16{} : v;  // NaN compares false and stays NaN, as in the reference
    } else {
      Vec16 e = -v;
      exp_fast16(e);
      v = 1.0f / (1.0f + e);
    }
    store16(y + i, v);
  }
  for (; i < end; ++i) {
    if constexpr (kOp == UnaryActivation::kRelu)
      y[i] = x[i] < 0.0f ? 0.0f : x[i];
    else
      y[i] = 1.0f / (1.0f + exp_fast(-x[i]));
  }
}

template <UnaryActivation kOp>
void unary_activation(const float* x, float* y, int64_t n, int threads) {
  constexpr int64_t kChunk = 16 * 1024;  // floats per task: large enough to amortise a fork
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  // Small tensors stay off OpenMP altogether: even a serialized parallel region makes libgomp allocate a team.
  if (threads <= 1 || chunks <= 4) return unary_activation_span<kOp>(x, y, 0, n);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) unary_activation_span<kOp>(x, y, c * kChunk, std::min(n, (c + 1) * kChunk));
}

template <UnaryActivation kOp>
class FastUnaryActivation final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!input_is_float(info, 0)) return nullptr;
    return std::make_unique<FastUnaryActivation>(info);
  }
  explicit FastUnaryActivation(const KernelInfo& info) : reference_(reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    if (X.type() != ElementType::kFloat) return reference_->compute(ctx);
    // Every element is written; the shape goes as a span, so a steady-state run allocates nothing.
    Tensor& Y = ctx.allocate_uninitialized_output_dims(0, ElementType::kFloat, X.shape());
    unary_activation<kOp>(X.data<float>(), Y.data<float>(), X.size(), ctx.intra_op_threads());
  }

 private:
  std::unique_ptr<Kernel> reference_;
};

}  // namespace kestrel::cpu::fast
