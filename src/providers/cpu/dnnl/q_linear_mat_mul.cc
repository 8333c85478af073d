// Fast QLinearMatMul (opset 10) for a constant [K, N] B with constant scale and zero point: the packed
// u8 x s8 product of int8_mat_mul.h, zero points removed from the int32 sums, then one vectorised
// requantization pass, bit-identical to the reference kernel. Other cases keep the reference kernel.
#include "providers/cpu/dnnl/int8_mat_mul.h"
#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/fast/quantize_simd.h"

namespace kestrel::cpu {
namespace {

class DnnlQLinearMatMul final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (info.has_input(5) && !info.constant_input(5)) return nullptr;
    const Tensor* b_scale = info.constant_input(4);
    const Tensor* b = info.constant_input(3);
    if (!b || !b_scale || b_scale->type() != ElementType::kFloat || b->rank() != 2) return nullptr;
    const bool scalar = b_scale->size() == 1 && b_scale->rank() <= 1;
    if (!scalar && !(b_scale->rank() == 1 && b_scale->dim(0) == b->dim(1))) return nullptr;
    auto weights = Int8PackedWeights::from_constants(b, info.has_input(5) ? info.constant_input(5) : nullptr);
    if (!weights) return nullptr;
    return std::make_unique<DnnlQLinearMatMul>(info, std::move(weights), *b_scale);
  }
  DnnlQLinearMatMul(const KernelInfo& info, std::unique_ptr<Int8PackedWeights> weights, const Tensor& b_scale)
      : reference_(fast::reference_kernel(info)), weights_(std::move(weights)) {
    const float* s = b_scale.data<float>();
    for (int64_t n = 0; n < weights_->N(); ++n) b_scale_.push_back(s[b_scale.size() == 1 ? 0 : n]);
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& A = ctx.input(0);
    const Tensor& a_scale = ctx.input(1);
    const Tensor& y_scale = ctx.input(6);
    const Tensor* y_zp = ctx.optional_input(7);
    Int8Activations a;
    const ElementType out_type = y_zp ? y_zp->type() : A.type();
    const bool params_ok = a_scale.type() == ElementType::kFloat && y_scale.type() == ElementType::kFloat &&
                           y_scale.size() == 1 && y_scale.rank() <= 1 &&
                           (!y_zp || (y_zp->size() == 1 && y_zp->rank() <= 1)) &&
                           (out_type == ElementType::kUInt8 || out_type == ElementType::kInt8);
    if (!params_ok || !prepare_activations(A, ctx.optional_input(2), *weights_, a)) return reference_->compute(ctx);
    const bool a_scale_scalar = a_scale.size() == 1 && a_scale.rank() <= 1;
    if (!a_scale_scalar && !(A.rank() >= 2 && a_scale.rank() == 1 && a_scale.dim(0) == a.M))
      return reference_->compute(ctx);
    const int64_t N = weights_->N();
    Shape out = A.shape();
    out.back() = N;
    Tensor& Y = ctx.allocate_uninitialized_output(0, out_type, out);  // every element written
    int32_t* acc = static_cast<int32_t*>(dnnl_backend::thread_scratch(2, static_cast<size_t>(a.rows * N) * 4));
    const int threads = dnnl_backend::threads_for(a.rows * N * weights_->K(), ctx.intra_op_threads());
    weights_->multiply(a.data, a.rows, acc, threads);
    weights_->remove_zero_points(acc, a.rows, [&](int64_t r) { return a.zero_point(r); }, a.row_sums);
    const float* sa = a_scale.data<float>();
    const float sy = *y_scale.data<float>();
    float zy = 0;
    if (y_zp) zy = out_type == ElementType::kUInt8 ? *y_zp->data<uint8_t>() : *y_zp->data<int8_t>();
    // The scale of each column as the reference computes it, a_scale * b_scale / y_scale, per row of A when
    // a_scale is.
    std::vector<float> scales(static_cast<size_t>(N));
    for (int64_t r = 0; r < a.rows; ++r) {
      if (r == 0 || !a_scale_scalar) {
        const float s = sa[a_scale_scalar ? 0 : r % a.M];
        for (int64_t n = 0; n < N; ++n) scales[static_cast<size_t>(n)] = s * b_scale_[static_cast<size_t>(n)] / sy;
      }
      if (out_type == ElementType::kUInt8)
        fast::requantize(acc + r * N, N, scales.data(), zy, true, Y.data<uint8_t>() + r * N);
      else
        fast::requantize(acc + r * N, N, scales.data(), zy, true, Y.data<int8_t>() + r * N);
    }
  }

 private:
  std::unique_ptr<Kernel> reference_;
  std::unique_ptr<Int8PackedWeights> weights_;
  std::vector<float> b_scale_;  // per column
};

}  // namespace

KESTREL_FAST_KERNEL(QLinearMatMul, "", 10, 1000, "uint8, int8", 10, &DnnlQLinearMatMul::create);

}  // namespace kestrel::cpu
