// The oneDNN matmul behind the fast MatMul and ai.kestrel FusedMatMul kernels (float). A constant 1-D/2-D B
// (a linear layer's weights) is scaled by alpha, transposed if asked and reordered once into oneDNN's packed
// layout, and A's batch dims fold into M; a constant [N] bias then becomes the primitive's bias and the
// activation an eltwise post-op. Otherwise both operands go in as they are (transposes as strides, numpy
// batch broadcasting). Primitives are cached per (shapes, thread count). At bf16 precision the packed weights
// are bfloat16 and A is converted on the way in; the output stays f32.
#pragma once

#include <omp.h>

#include <optional>
#include <tuple>

#include "providers/cpu/dnnl/dnnl_common.h"
#include "providers/cpu/dnnl/post_ops.h"
#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/onnx/matrix_multiply.h"
#include "providers/cpu/kernels/onnx/nn_types.h"
#include "runtime/inline_shape.h"

namespace kestrel::cpu {

struct DnnlMatMulPlan {
  // Packed B: run({src, dst}), the packed weights and the bias row bound; general: run({src, weights, dst}).
  dnnl_backend::Executable matmul;
  dnnl_backend::Reorder src_convert;  // f32 A -> the primitive's bf16 src (none at f32)
};

class DnnlMatMul final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info, bool fused) {
    for (size_t i = 0; i < 2; ++i) {
      const TypeInfo& t = info.input_type(i);
      if (t.kind != TypeInfo::Kind::kTensor || t.element_type != ElementType::kFloat) return nullptr;
    }
    if (fused && info.has_input(2)) {
      const TypeInfo& t = info.input_type(2);
      if (t.kind != TypeInfo::Kind::kTensor || t.element_type != ElementType::kFloat) return nullptr;
    }
    return std::make_unique<DnnlMatMul>(info, fused);
  }

  DnnlMatMul(const KernelInfo& info, bool fused) : fused_(fused), precision_(info.precision()) {
    using dt = dnnl::memory::data_type;
    if (fused_) {
      trans_a_ = info.attr_int("transA", 0) != 0;
      trans_b_ = info.attr_int("transB", 0) != 0;
      alpha_ = info.attr_float("alpha", 1.0f);
      act_ = FusedActivation::parse(info);
    }
    const Tensor* b = info.constant_input(1);
    if (!b || b->type() != ElementType::kFloat || (b->rank() != 1 && b->rank() != 2) || b->size() == 0)
      return;
    b_ = *b;
    const bool tb = trans_b_ && b_.rank() == 2;  // transB is ignored for a 1-D B
    K_ = b_.rank() == 1 ? b_.dim(0) : tb ? b_.dim(1) : b_.dim(0);
    N_ = b_.rank() == 1 ? 1 : tb ? b_.dim(0) : b_.dim(1);
    const float* bp = b_.data<float>();
    if (alpha_ != 1.0f) {
      scaled_b_.resize(static_cast<size_t>(b_.size()));
      for (size_t i = 0; i < scaled_b_.size(); ++i) scaled_b_[i] = alpha_ * bp[i];
      bp = scaled_b_.data();
    }
    const dnnl::memory::dims strides = tb ? dnnl::memory::dims{1, K_} : dnnl::memory::dims{N_, 1};
    packed_ =
        std::make_unique<dnnl_backend::PackedWeights>(dnnl::memory::desc({K_, N_}, dt::f32, strides), bp);
    // A constant bias of shape [N] (or [1] when N is 1) is the primitive's bias row.
    const Tensor* bias = fused_ && info.has_input(2) ? info.constant_input(2) : nullptr;
    if (bias && bias->type() == ElementType::kFloat && bias->rank() == 1 && bias->dim(0) == N_)
      bias_row_.assign(bias->data<float>(), bias->data<float>() + N_);
    // The weights are packed now rather than on the first run. The layout oneDNN picks for them does not
    // depend on A's row count, so a dynamic A packs with a nominal one (another layout, if ever asked for, is
    // reordered from this copy). A transposed A goes the general way, which reads B as given.
    if (trans_a_) return;
    const TypeInfo& at = info.input_type(0);
    int64_t rows = at.shape && !at.shape->empty() ? 1 : -1;
    for (size_t i = 0; rows > 0 && i + 1 < at.shape->size(); ++i)
      rows = (*at.shape)[i].fixed() ? rows * (*at.shape)[i].value : -1;
    if (rows <= 0) rows = 128;
    try {
      packed_->get(packed_weights_desc(rows));
      released_ = packed_->release_plain();
    } catch (const std::exception&) {
    }
    if (released_) {
      // The packed copy is all compute() reads: b_ keeps B's type and shape only, and the planner may free
      // the model's copy (owns_constant_input).
      b_ = Tensor::borrow(b_.type(), b_.shape(), nullptr);
      scaled_b_ = {};
    }
  }

  bool owns_constant_input(size_t i) const override { return i == 1 && released_; }

  void compute(KernelContext& ctx) const override {
    namespace dn = dnnl_backend;
    const Tensor& A = ctx.input(0);
    const Tensor& B = packed_ ? b_ : ctx.input(1);
    const Tensor* bias = fused_ ? ctx.optional_input(2) : nullptr;
    if (A.type() != ElementType::kFloat || B.type() != ElementType::kFloat)
      ctx.fail(std::string("A and B must be float for this kernel, got ") + element_type_name(A.type()) +
               " and " + element_type_name(B.type()));
    if (bias && bias->type() != ElementType::kFloat) ctx.fail("bias must be float");
    // Ranks above 6 (which oneDNN does not take) go the plain loops' way, with matmul_shape's offsets; below,
    // shapes and keys are built on the stack.
    const bool high_rank = A.rank() > 6 || B.rank() > 6;
    MatMulShape s;
    runtime::InlineShape out;
    if (high_rank) {
      s = matmul_shape(ctx, logical(A.shape(), trans_a_), logical(B.shape(), trans_b_));
    } else {
      runtime::InlineShape as(A.shape()), bs(B.shape());
      if (trans_a_ && as.size() >= 2) std::swap(as[as.size() - 2], as[as.size() - 1]);
      if (trans_b_ && bs.size() >= 2) std::swap(bs[bs.size() - 2], bs[bs.size() - 1]);
      matmul_dims(ctx, as.span(), bs.span(), s, out);
    }
    Tensor& Y = ctx.allocate_output_dims(0, ElementType::kFloat, high_rank ? std::span<const int64_t>(s.out) : out.span());
    if (Y.size() == 0) return;
    const int threads = dnnl_backend::threads_for(s.batch * s.M * s.N * s.K, ctx.intra_op_threads());
    const bool packed = packed_ && !(trans_a_ && A.rank() >= 2);
    // Packed path: a constant [N] bias is the primitive's bias; any other bias is added afterwards, and then
    // the activation has to wait for it too.
    const bool bias_inside = packed && bias && !bias_row_.empty() && Y.rank() > 0;
    const bool act_inside = !bias || bias_inside;
    bool finished = false;  // bias and activation done inside the primitive
    if (s.K > 0) {
      dn::ThreadScope scope(threads);
      if (packed) {
        const int64_t rows = A.size() / s.K;
        const auto plan = packed_cache_.get({rows, threads, bias_inside, act_inside}, [&] {
          return make_packed_plan(rows, threads, bias_inside, act_inside);
        });
        plan->matmul.run({dn::converted_input(plan->src_convert, A.raw_data(), threads), Y.raw_data()});
        finished = act_inside;
      } else {
        std::shared_ptr<const DnnlMatMulPlan> plan;
        if (!high_rank) {
          int64_t key[16];  // A's shape, -1, B's shape, threads, bias
          size_t n = 0;
          for (int64_t d : A.shape()) key[n++] = d;
          key[n++] = -1;
          for (int64_t d : B.shape()) key[n++] = d;
          key[n++] = threads;
          key[n++] = bias ? 1 : 0;
          plan = general_cache_.get(std::span<const int64_t>(key, n), [&]() -> std::shared_ptr<const DnnlMatMulPlan> {
            try {
              return make_general_plan(A.shape(), B.shape(), threads, bias == nullptr);
            } catch (const dnnl::error&) {
              return nullptr;  // shapes oneDNN does not take: the plain loops below
            }
          });
        }
        if (!plan) {
          loops(ctx, A, B, high_rank ? s : matmul_shape(ctx, logical(A.shape(), trans_a_), logical(B.shape(), trans_b_)),
                Y, threads);
        } else {
          plan->matmul.run({A.raw_data(), B.raw_data(), Y.raw_data()});
          finished = act_inside;
        }
      }
    }
    float* y = Y.data<float>();
    if (finished) {
      // alpha is in the packed weights or a post-op; bias and activation were inside, but for Gelu.
      if (act_.kind == FusedActivation::Kind::kGelu)
        fast::gelu_in_place(y, Y.size(), false, ctx.intra_op_threads());
      return;
    }
    // A bias that broadcasts, or an empty sum (K = 0): bias and activation here (alpha * 0 is 0).
    if (bias) add_broadcast_into(ctx, y, Y.shape(), bias->data<float>(), bias->shape());
    if (act_.kind == FusedActivation::Kind::kGelu)
      fast::gelu_in_place(y, Y.size(), false, ctx.intra_op_threads());
    else
      act_.apply(y, Y.size());
  }

 private:
  // The operand's shape with its last two dims swapped when transposed (1-D operands are never transposed).
  static Shape logical(Shape s, bool trans) {
    if (trans && s.size() >= 2) std::swap(s[s.size() - 2], s[s.size() - 1]);
    return s;
  }

  void loops(const KernelContext&, const Tensor& A, const Tensor& B, const MatMulShape& s, Tensor& Y,
             int threads) const {
    // Only reached for ranks above 6, where the reference layout (no transposes) is used after copying.
    std::vector<float> at, bt;
    const float* a = transposed_copy(A, trans_a_, at);
    const float* b = transposed_copy(B, trans_b_, bt);
    float* y = Y.data<float>();
    for (int64_t t = 0; t < s.batch; ++t)
      gemm_accumulate<float>(s.M, s.N, s.K, a + s.a_offset[static_cast<size_t>(t)] * s.M * s.K, s.K,
                             b + s.b_offset[static_cast<size_t>(t)] * s.K * s.N, s.N, y + t * s.M * s.N, s.N,
                             threads);
    if (alpha_ != 1.0f)
      for (int64_t i = 0; i < Y.size(); ++i) y[i] *= alpha_;
  }

  static const float* transposed_copy(const Tensor& t, bool trans, std::vector<float>& store) {
    if (!trans || t.rank() < 2) return t.data<float>();
    const int64_t rows = t.dim(t.rank() - 2), cols = t.dim(t.rank() - 1);
    const int64_t mats = rows * cols == 0 ? 0 : t.size() / (rows * cols);
    store.resize(static_cast<size_t>(t.size()));
    for (int64_t m = 0; m < mats; ++m)
      transpose_matrix(t.data<float>() + m * rows * cols, rows, cols, store.data() + m * rows * cols);
    return store.data();
  }

  // The layout oneDNN wants the packed weights in, from a primitive descriptor alone: making the primitive
  // (its JIT code) waits for the first run's shapes.
  // The layout the packed plans want B in, in the session's precision (f32 where bf16 has no real kernel).
  dnnl::memory::desc packed_weights_desc(int64_t rows) const {
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    auto primitive_desc = [&](dt type) {
      const dnnl::matmul::desc desc(dnnl::memory::desc({rows, K_}, type, tag::ab),
                                    dnnl::memory::desc({K_, N_}, type, tag::any),
                                    dnnl::memory::desc({rows, N_}, dt::f32, tag::ab));
      return dnnl::matmul::primitive_desc(desc, dnnl_backend::user_scratchpad_attr(), dnnl_backend::engine());
    };
    const dt type = dnnl_backend::compute_type(precision_);
    if (type != dt::f32) {
      try {
        const auto pd = primitive_desc(type);
        if (!dnnl_backend::is_reference_impl(pd.impl_info_str())) return pd.weights_desc();
      } catch (const dnnl::error&) {
      }
    }
    return primitive_desc(dt::f32).weights_desc();
  }

  // [rows, K] x packed [K, N], optionally with the bias row and the activation inside.
  std::shared_ptr<const DnnlMatMulPlan> make_packed_plan(int64_t rows, int threads, bool bias,
                                                         bool act) const {
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    dnnl_backend::ThreadScope scope(threads);
    dnnl::primitive_attr attr = dnnl_backend::user_scratchpad_attr();
    if (act) {
      dnnl::post_ops po;
      append_post_op_activation(po);
      attr.set_post_ops(po);
    }
    const dnnl::memory::desc a_user({rows, K_}, dt::f32, tag::ab);
    auto primitive_desc = [&](dt type) {
      const dnnl::matmul::desc desc(dnnl::memory::desc({rows, K_}, type, tag::ab),
                                    dnnl::memory::desc({K_, N_}, type, tag::any),
                                    bias ? dnnl::memory::desc({1, N_}, dt::f32, tag::ab) : dnnl::memory::desc(),
                                    dnnl::memory::desc({rows, N_}, dt::f32, tag::ab));
      return dnnl::matmul::primitive_desc(desc, attr, dnnl_backend::engine());
    };
    const dt type = dnnl_backend::compute_type(precision_);
    if (type != dt::f32) {
      try {
        const auto pd = primitive_desc(type);
        if (!dnnl_backend::is_reference_impl(pd.impl_info_str()))
          return finish_packed(pd, bias, dnnl_backend::Reorder(a_user, pd.src_desc()));
      } catch (const dnnl::error&) {
      }  // no reduced-precision kernel for this shape: f32 below
    }
    return finish_packed(primitive_desc(dt::f32), bias, {});
  }

  // Operands as given: 1-D ones promoted ([K] -> [1,K] for A, [K,1] for B), ranks padded with leading 1s,
  // batch dims broadcast (matmul_shape has checked them), transposes as swapped strides. alpha is a post-op;
  // the activation too when `activation_inside` (no bias to add first).
  std::shared_ptr<const DnnlMatMulPlan> make_general_plan(const Shape& a_phys, const Shape& b_phys,
                                                          int threads, bool activation_inside) const {
    using dt = dnnl::memory::data_type;
    dnnl_backend::ThreadScope scope(threads);
    Shape a = a_phys, b = b_phys;
    const bool ta = trans_a_ && a.size() >= 2, tb = trans_b_ && b.size() >= 2;
    if (a.size() == 1) a.insert(a.begin(), 1);
    if (b.size() == 1) b.push_back(1);
    const size_t r = std::max(a.size(), b.size());
    if (r > 6) throw dnnl::error(dnnl_unimplemented, "rank above 6");
    a.insert(a.begin(), r - a.size(), 1);
    b.insert(b.begin(), r - b.size(), 1);
    auto desc_of = [&](Shape phys, bool trans) {
      dnnl::memory::dims strides(r);
      int64_t st = 1;
      for (size_t i = r; i-- > 0;) {
        strides[i] = st;
        st *= phys[i];
      }
      if (trans) {
        std::swap(phys[r - 2], phys[r - 1]);
        std::swap(strides[r - 2], strides[r - 1]);
      }
      return dnnl::memory::desc(dnnl_backend::to_dims(phys), dt::f32, strides);
    };
    const dnnl::memory::desc a_md = desc_of(a, ta), b_md = desc_of(b, tb);
    const dnnl::memory::dims ad = a_md.dims(), bd = b_md.dims();
    Shape y(r);
    for (size_t i = 0; i + 2 < r; ++i) y[i] = std::max(ad[i], bd[i]);
    y[r - 2] = ad[r - 2];
    y[r - 1] = bd[r - 1];
    dnnl::primitive_attr attr = dnnl_backend::user_scratchpad_attr();
    dnnl::post_ops po;
    if (alpha_ != 1.0f) po.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, alpha_, 0.0f);
    if (activation_inside) append_post_op_activation(po);
    attr.set_post_ops(po);
    const dnnl::matmul::desc desc(
        a_md, b_md, dnnl::memory::desc(dnnl_backend::to_dims(y), dt::f32, dnnl_backend::plain_tag(r)));
    const dnnl::matmul::primitive_desc pd(desc, attr, dnnl_backend::engine());
    auto plan = std::make_shared<DnnlMatMulPlan>();
    plan->matmul = dnnl_backend::Executable(
        dnnl::matmul(pd), pd.scratchpad_desc(),
        {{DNNL_ARG_SRC, pd.src_desc()}, {DNNL_ARG_WEIGHTS, pd.weights_desc()}, {DNNL_ARG_DST, pd.dst_desc()}});
    return plan;
  }

  // The activation as a oneDNN post-op, except Gelu (erf form): Kestrel's own pass after the primitive
  // (fast::gelu_in_place) costs about half of oneDNN 2.6's gelu_erf post-op.
  void append_post_op_activation(dnnl::post_ops& po) const {
    if (act_.kind != FusedActivation::Kind::kGelu) dnnl_backend::append_activation(po, act_);
  }

  // The packed plan's executable: the packed weights (and the bias row when `bias`) bound.
  std::shared_ptr<const DnnlMatMulPlan> finish_packed(const dnnl::matmul::primitive_desc& pd, bool bias,
                                                      dnnl_backend::Reorder src_convert) const {
    auto plan = std::make_shared<DnnlMatMulPlan>();
    plan->src_convert = std::move(src_convert);
    std::vector<std::pair<int, dnnl::memory>> bound{{DNNL_ARG_WEIGHTS, packed_->get(pd.weights_desc())}};
    if (bias)
      bound.emplace_back(DNNL_ARG_BIAS,
                         dnnl::memory(dnnl::memory::desc({1, N_}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::ab),
                                      dnnl_backend::engine(), const_cast<float*>(bias_row_.data())));
    plan->matmul = dnnl_backend::Executable(dnnl::matmul(pd), pd.scratchpad_desc(),
                                            {{DNNL_ARG_SRC, pd.src_desc()}, {DNNL_ARG_DST, pd.dst_desc()}},
                                            std::move(bound));
    return plan;
  }

  bool fused_;
  runtime::Precision precision_;
  bool trans_a_ = false, trans_b_ = false;
  float alpha_ = 1.0f;
  FusedActivation act_;
  Tensor b_;
  int64_t K_ = 0, N_ = 0;
  std::vector<float> scaled_b_, bias_row_;
  std::unique_ptr<dnnl_backend::PackedWeights> packed_;
  bool released_ = false;  // packed at creation; the plain B is no longer read
  mutable dnnl_backend::PrimitiveCache<std::tuple<int64_t, int, bool, bool>, DnnlMatMulPlan> packed_cache_;
  mutable dnnl_backend::PrimitiveCache<Shape, DnnlMatMulPlan, dnnl_backend::DimsLess> general_cache_;
};

}  // namespace kestrel::cpu
