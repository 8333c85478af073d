// MatMul and ai.kestrel FusedMatMul (float, fp32 precision) with a constant 2-D B on the packed AVX-512 GEMM
// (packed_gemm.h): a linear layer's weights are scaled by alpha, transposed if asked and packed at session
// creation, A's leading dims fold into M, and a constant [N] bias and a Relu or Gelu activation are applied
// while each tile of the output is still in registers. Everything else (run-time or 1-D B, transA, a bias
// that broadcasts, other activations, bf16 precision, CPUs without AVX-512) is declined and goes to the
// oneDNN kernel (dnnl/mat_mul.h).
#pragma once

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/fast/packed_gemm.h"
#include "providers/cpu/kernels/kestrel/fused_activation.h"
#include "providers/cpu/kernels/onnx/matrix_multiply.h"
#include "runtime/unaligned_constants.h"

namespace kestrel::cpu {

class PackedMatMul final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info, bool fused) {
    if (!fast::packed_gemm_supported() || info.precision() != runtime::Precision::kFp32) return nullptr;
    if (!fast::input_is_float(info, 0)) return nullptr;
    // B is packed with memcpy reads: a view on the model file's bytes, aligned or not, is packed as it is.
    const Tensor* b = runtime::constant_input_view(info, 1);
    if (!b || b->type() != ElementType::kFloat || b->rank() != 2 || b->size() == 0) return nullptr;
    std::optional<fast::GemmActivation> act = fast::GemmActivation::kNone;
    const Tensor* bias = nullptr;
    if (fused) {
      if (info.attr_int("transA", 0) != 0) return nullptr;
      act = activation_of(FusedActivation::parse(info));
      if (!act) return nullptr;
      if (info.has_input(2)) {
        const bool trans_b = info.attr_int("transB", 0) != 0;
        bias = info.constant_input(2);
        const int64_t n = trans_b ? b->dim(0) : b->dim(1);
        if (!bias || bias->type() != ElementType::kFloat || bias->rank() != 1 || bias->dim(0) != n)
          return nullptr;
      }
    }
    return std::make_unique<PackedMatMul>(info, *b, bias, *act, fused);
  }

  PackedMatMul(const KernelInfo& info, const Tensor& b, const Tensor* bias, fast::GemmActivation act,
               bool fused)
      : act_(act) {
    const bool trans_b = fused && info.attr_int("transB", 0) != 0;
    const float alpha = fused ? info.attr_float("alpha", 1.0f) : 1.0f;
    const int64_t K = trans_b ? b.dim(1) : b.dim(0), N = trans_b ? b.dim(0) : b.dim(1);
    weights_ = std::make_unique<fast::PackedGemmWeights>(b.raw_data(), K, N, trans_b, alpha);
    if (bias) bias_.assign(bias->data<float>(), bias->data<float>() + N);
  }

  // The packed copy is all compute() reads: the planner may free the model's B.
  bool owns_constant_input(size_t i) const override { return i == 1; }

  void compute(KernelContext& ctx) const override {
    const Tensor& A = ctx.input(0);
    if (A.type() != ElementType::kFloat)
      ctx.fail(std::string("A must be float for this kernel, got ") + element_type_name(A.type()));
    const int64_t K = weights_->K(), N = weights_->N();
    if (A.rank() == 0 || A.dim(A.rank() - 1) != K)
      ctx.fail("inner dimensions do not match: A is " + shape_to_string(A.shape()) + ", B is " +
               shape_to_string({K, N}));
    // Y's shape is A's with the last dim replaced by N (a 1-D A gives [N]), built without allocating up to
    // rank 8.
    std::array<int64_t, 8> dims{};
    const size_t rank = A.rank();
    Tensor* Y = nullptr;
    if (rank <= dims.size()) {
      std::copy(A.shape().begin(), A.shape().end() - 1, dims.begin());
      dims[rank - 1] = N;
      Y = &ctx.allocate_uninitialized_output_dims(0, ElementType::kFloat, std::span(dims.data(), rank));
    } else {
      Shape out = A.shape();
      out.back() = N;
      Y = &ctx.allocate_uninitialized_output(0, ElementType::kFloat, std::move(out));
    }
    if (Y->size() == 0) return;
    fast::packed_gemm(A.size() / K, A.data<float>(), *weights_, bias_.empty() ? nullptr : bias_.data(), act_,
                      Y->data<float>(), ctx.intra_op_threads());
  }

 private:
  static std::optional<fast::GemmActivation> activation_of(const FusedActivation& act) {
    switch (act.kind) {
      case FusedActivation::Kind::kNone:
        return fast::GemmActivation::kNone;
      case FusedActivation::Kind::kRelu:
        return fast::GemmActivation::kRelu;
      case FusedActivation::Kind::kGelu:
        return fast::GemmActivation::kGelu;
      case FusedActivation::Kind::kGeluTanh:
        return fast::GemmActivation::kGeluTanh;
      default:
        return std::nullopt;
    }
  }

  fast::GemmActivation act_;
  std::unique_ptr<fast::PackedGemmWeights> weights_;
  std::vector<float> bias_;
};

}  // namespace kestrel::cpu
