// DynamicQuantizeMatMul (ai.kestrel, v1): Y = float(MatMulInteger(q, B, q_zero_point, b_zero_point)) *
// (q_scale * b_scale) + bias, where (q, q_scale, q_zero_point) = DynamicQuantizeLinear(A). A is float
// [..., K]; B a uint8/int8 [K, N] matrix; b_scale float, one value or [N]; b_zero_point (optional) B's type,
// one value or [N]; bias (optional) float [N]. Made by the optimizer from the graph dynamic quantization
// writes (DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul by the scales -> Add of the bias), and
// computes exactly what that graph computes. Attributes `activation` / `activation_params` (as FusedMatMul's)
// apply an activation last.
#include "providers/cpu/kernels/kestrel/fused_activation.h"
#include "providers/cpu/kernels/onnx/matrix_multiply.h"
#include "providers/cpu/kernels/onnx/quantize.h"

namespace kestrel::cpu {
namespace {

class DynamicQuantizeMatMul final : public Kernel {
 public:
  explicit DynamicQuantizeMatMul(const KernelInfo& info) : act_(FusedActivation::parse(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& A = ctx.input(0);
    const Tensor& B = ctx.input(1);
    const Tensor& b_scale = ctx.input(2);
    const Tensor* b_zp = ctx.optional_input(3);
    const Tensor* bias = ctx.optional_input(4);
    if (A.type() != ElementType::kFloat) ctx.fail(std::string("A must be float, got ") + element_type_name(A.type()));
    if (B.rank() != 2) ctx.fail("B must be a [K, N] matrix, got shape " + shape_to_string(B.shape()));
    const int64_t N = B.dim(1);
    if (bias && (bias->type() != ElementType::kFloat || bias->rank() != 1 || bias->dim(0) != N))
      ctx.fail("bias must be a float tensor of shape [" + std::to_string(N) + "], got " +
               element_type_name(bias->type()) + " " + shape_to_string(bias->shape()));
    const MatMulShape s = matmul_shape(ctx, A.shape(), B.shape());
    // DynamicQuantizeLinear (see kernels/onnx/dynamic_quantize_linear.cc).
    const float* x = A.data<float>();
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < A.size(); ++i) {
      lo = std::min(lo, x[i]);
      hi = std::max(hi, x[i]);
    }
    const float a_scale = (hi - lo) / 255.0f;
    const int32_t a_zp = a_scale > 0 ? saturate_round<uint8_t>(0.0f - lo / a_scale) : 0;
    std::vector<int32_t> a(static_cast<size_t>(A.size()));
    for (int64_t i = 0; i < A.size(); ++i) {
      const int32_t q = a_scale > 0 ? saturate_round<uint8_t>(std::nearbyint(x[i] / a_scale) + static_cast<float>(a_zp)) : a_zp;
      a[static_cast<size_t>(i)] = q - a_zp;
    }
    // MatMulInteger.
    const std::vector<int32_t> b = widen_minus_zero_point(ctx, B, b_zp, 1, "b_zero_point");
    const QuantParam sb = quant_param(ctx, &b_scale, B.shape(), 1, "b_scale", 1.0f);
    std::vector<int32_t> acc(static_cast<size_t>(s.batch * s.M * N), 0);
    for (int64_t t = 0; t < s.batch; ++t)
      gemm_accumulate<int32_t>(s.M, N, s.K, a.data() + t * s.M * s.K, s.K, b.data(), N, acc.data() + t * s.M * N, N);
    // Cast, Mul by a_scale * b_scale, Add bias: each rounded on its own.
    Tensor& Y = ctx.allocate_output(0, ElementType::kFloat, s.out);
    float* y = Y.data<float>();
    for (int64_t i = 0; i < Y.size(); ++i) {
      const int64_t n = i % N;
      const float scale = a_scale * sb.at(n);
      const float v = static_cast<float>(acc[static_cast<size_t>(i)]) * scale;
      y[i] = bias ? v + bias->data<float>()[n] : v;
    }
    act_.apply(y, Y.size());
  }

 private:
  FusedActivation act_;
};

}  // namespace

KESTREL_KERNEL(DynamicQuantizeMatMul, "ai.kestrel", 1, 1000, "float, uint8, int8 -> float",
               make_kernel<DynamicQuantizeMatMul>());

}  // namespace kestrel::cpu
