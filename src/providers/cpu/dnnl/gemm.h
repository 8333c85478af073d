// The oneDNN matmul behind the fast Gemm and ai.kestrel FusedGemm kernels (float), for the common case of a
// constant B (a linear layer's weights): alpha * B' is packed once, a constant C that broadcasts along rows
// becomes the primitive's bias (times beta) and FusedGemm's activation an eltwise post-op; any other C is
// added after the product (and the activation after it). Non-constant B is left to the reference kernels. At
// bf16 precision the packed B' is bfloat16 and A is converted on the way in; Y stays f32.
#pragma once

#include <omp.h>

#include <optional>
#include <tuple>

#include "providers/cpu/dnnl/dnnl_common.h"
#include "providers/cpu/dnnl/post_ops.h"
#include "providers/cpu/kernels/onnx/nn_types.h"
#include "runtime/unaligned_constants.h"

namespace kestrel::cpu {

struct DnnlGemmPlan {
  dnnl_backend::Executable matmul;    // run({src, dst}); the packed weights and the bias row are bound
  dnnl_backend::Reorder src_convert;  // f32 A -> the primitive's bf16 src (none at f32)
};

class DnnlGemm final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info, bool fused) {
    const TypeInfo& at = info.input_type(0);
    if (at.kind != TypeInfo::Kind::kTensor || at.element_type != ElementType::kFloat) return nullptr;
    // B as it is, possibly a view on unaligned bytes, which PackedWeights packs with no aligned copy; scaled
    // by alpha first, it is read as floats, from an aligned copy.
    const Tensor* b = info.attr_float("alpha", 1.0f) != 1.0f ? info.constant_input(1)
                                                             : runtime::constant_input_view(info, 1);
    if (!b || b->type() != ElementType::kFloat || b->rank() != 2 || b->size() == 0) return nullptr;
    if (info.has_input(2)) {
      const TypeInfo& ct = info.input_type(2);
      if (ct.kind != TypeInfo::Kind::kTensor || ct.element_type != ElementType::kFloat) return nullptr;
    }
    return std::make_unique<DnnlGemm>(info, *b, fused);
  }

  DnnlGemm(const KernelInfo& info, const Tensor& b, bool fused)
      : fused_(fused),
        precision_(info.precision()),
        trans_a_(info.attr_int("transA", 0) != 0),
        trans_b_(info.attr_int("transB", 0) != 0),
        alpha_(info.attr_float("alpha", 1.0f)),
        beta_(info.attr_float("beta", 1.0f)),
        K_(trans_b_ ? b.dim(1) : b.dim(0)),
        N_(trans_b_ ? b.dim(0) : b.dim(1)) {
    namespace dn = dnnl_backend;
    using dt = dnnl::memory::data_type;
    if (fused_) act_ = FusedActivation::parse(info);
    const float* bp = static_cast<const float*>(b.raw_data());  // read as floats only when aligned (alpha)
    if (alpha_ != 1.0f) {
      scaled_b_.resize(static_cast<size_t>(b.size()));
      for (size_t i = 0; i < scaled_b_.size(); ++i) scaled_b_[i] = alpha_ * bp[i];
      bp = scaled_b_.data();
    } else {
      b_ = b;  // keeps the initializer's buffer alive for packing
    }
    // B' = B or B^T as a K x N matrix over B's own buffer.
    const dnnl::memory::dims strides = trans_b_ ? dnnl::memory::dims{1, K_} : dnnl::memory::dims{N_, 1};
    packed_ = std::make_unique<dn::PackedWeights>(dnnl::memory::desc({K_, N_}, dt::f32, strides), bp);
    // A constant C of shape [], [1], [N], [1,1] or [1,N] is a bias row: beta * C folded once.
    const Tensor* c = info.has_input(2) && !(fused_ && beta_ == 0.0f) ? info.constant_input(2) : nullptr;
    if (c && c->type() == ElementType::kFloat && c->rank() <= 2 && (c->rank() < 2 || c->dim(0) == 1) &&
        (c->rank() == 0 || c->shape().back() == 1 || c->shape().back() == N_)) {
      bias_.resize(static_cast<size_t>(N_));
      const float* cp = c->data<float>();
      const bool row = c->rank() > 0 && c->shape().back() == N_;
      for (int64_t n = 0; n < N_; ++n) bias_[static_cast<size_t>(n)] = beta_ * cp[row ? n : 0];
    }
    // The weights are packed now rather than on the first run, and the primitive for the declared M is made
    // and kept for the runs. A symbolic M (a batch) is taken as 1: the layout oneDNN picks for B' does not
    // depend on it, and a layout asked for later is reordered from the packed copy. Once packed, the model's
    // copy may go (owns_constant_input).
    const TypeInfo& at = info.input_type(0);
    if (at.shape && at.shape->size() == 2) {
      const Dim& m = (*at.shape)[trans_a_ ? 1 : 0];
      const int64_t M = m.fixed() ? m.value : 1;
      if (M > 0) {
        try {
          // The same team and key compute() uses (the session compiles its plan on its own team).
          const int threads = dn::threads_for(M * N_ * K_, omp_get_max_threads());
          const bool post = !(info.has_input(2) && !(fused_ && beta_ == 0.0f) && bias_.empty());
          cache_.get({M, threads, post}, [&] { return make_plan(M, threads, post); });  // packs the weights
          released_ = packed_->release_plain();
        } catch (const std::exception&) {
        }
      }
    }
    if (released_) {
      b_ = Tensor();
      scaled_b_ = {};
    } else if (b_.defined() && !runtime::is_element_aligned(b_)) {
      // Packed on a run instead: from the aligned copy the plan keeps for the runs, rather than from the view
      // on the file, which would stay resident beside it.
      b_ = *info.constant_input(1);
      packed_ =
          std::make_unique<dn::PackedWeights>(dnnl::memory::desc({K_, N_}, dt::f32, strides), b_.raw_data());
    }
  }

  bool owns_constant_input(size_t i) const override { return i == 1 && released_; }

  void compute(KernelContext& ctx) const override {
    namespace dn = dnnl_backend;
    const Tensor& A = ctx.input(0);
    // FusedGemm skips C when beta is 0; Gemm adds beta * C whatever beta is (as the reference kernels do).
    const Tensor* C = fused_ && beta_ == 0.0f ? nullptr : ctx.optional_input(2);
    if (A.type() != ElementType::kFloat || A.rank() != 2)
      ctx.fail(std::string("A must be a 2-D float tensor for this kernel, got ") +
               element_type_name(A.type()) + " " + shape_to_string(A.shape()));
    const int64_t M = trans_a_ ? A.dim(1) : A.dim(0), K = trans_a_ ? A.dim(0) : A.dim(1);
    if (K != K_)
      ctx.fail("inner dimensions do not match: A' is " + std::to_string(M) + "x" + std::to_string(K) +
               ", B' is " + std::to_string(K_) + "x" + std::to_string(N_));
    int64_t c_rs = 0, c_cs = 0;
    if (C) {
      const Shape& cs = C->shape();
      const int64_t cm = cs.size() == 2 ? cs[0] : 1, cn = cs.empty() ? 1 : cs.back();
      if (C->type() != ElementType::kFloat || cs.size() > 2 || (cm != 1 && cm != M) || (cn != 1 && cn != N_))
        ctx.fail("C of shape " + shape_to_string(cs) + " cannot broadcast to [" + std::to_string(M) + "," +
                 std::to_string(N_) + "]");
      c_cs = cn == 1 ? 0 : 1;
      c_rs = cm == 1 ? 0 : cn;
    }
    const int64_t ys[] = {M, N_};
    Tensor& Y = ctx.allocate_output_dims(0, ElementType::kFloat, ys);
    if (Y.size() == 0) return;
    const int threads = dnnl_backend::threads_for(M * N_ * K_, ctx.intra_op_threads());
    const bool c_after = C && bias_.empty();  // then the activation waits for C too
    {
      dn::ThreadScope scope(threads);
      const auto plan = cache_.get({M, threads, !c_after}, [&] { return make_plan(M, threads, !c_after); });
      plan->matmul.run({dn::converted_input(plan->src_convert, A.raw_data(), threads), Y.raw_data()});
    }
    if (c_after) {  // a C the bias could not take: Y += beta * C, broadcast
      const float* c = C->data<float>();
      float* y = Y.data<float>();
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N_; ++n) y[m * N_ + n] += beta_ * c[m * c_rs + n * c_cs];
      act_.apply(y, Y.size());
    }
  }

 private:
  // `post`: the bias row (when there is one) and the activation run inside.
  std::shared_ptr<const DnnlGemmPlan> make_plan(int64_t M, int threads, bool post) const {
    namespace dn = dnnl_backend;
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    dn::ThreadScope scope(threads);
    const dnnl::memory::dims a_strides = trans_a_ ? dnnl::memory::dims{1, M} : dnnl::memory::dims{K_, 1};
    const dnnl::memory::desc bias_md =
        !post || bias_.empty() ? dnnl::memory::desc() : dnnl::memory::desc({1, N_}, dt::f32, tag::ab);
    dnnl::primitive_attr attr = dn::user_scratchpad_attr();
    if (post) {
      dnnl::post_ops po;
      dn::append_activation(po, act_);
      attr.set_post_ops(po);
    }
    const dnnl::memory::desc a_user({M, K_}, dt::f32, a_strides);
    auto primitive_desc = [&](dt type) {
      // A reduced-precision A is converted into a plain row-major copy (transA included).
      const dnnl::memory::desc a_md = type == dt::f32 ? a_user : dnnl::memory::desc({M, K_}, type, tag::ab);
      const dnnl::matmul::desc desc(a_md, dnnl::memory::desc({K_, N_}, type, tag::any), bias_md,
                                    dnnl::memory::desc({M, N_}, dt::f32, tag::ab));
      return dnnl::matmul::primitive_desc(desc, attr, dn::engine());
    };
    auto plan = std::make_shared<DnnlGemmPlan>();
    std::optional<dnnl::matmul::primitive_desc> reduced;
    if (dn::compute_type(precision_) != dt::f32) {
      try {
        reduced.emplace(primitive_desc(dn::compute_type(precision_)));
        if (dn::is_reference_impl(reduced->impl_info_str())) reduced.reset();
      } catch (const dnnl::error&) {
      }  // no reduced-precision kernel for this shape: f32
    }
    const dnnl::matmul::primitive_desc pd = reduced ? *reduced : primitive_desc(dt::f32);
    if (reduced) plan->src_convert = dn::Reorder(a_user, pd.src_desc());
    std::vector<std::pair<int, dnnl::memory>> bound{{DNNL_ARG_WEIGHTS, packed_->get(pd.weights_desc())}};
    if (bias_md.get_size() > 0)
      bound.emplace_back(DNNL_ARG_BIAS, dnnl::memory(bias_md, dn::engine(), const_cast<float*>(bias_.data())));
    plan->matmul = dn::Executable(dnnl::matmul(pd), pd.scratchpad_desc(),
                                  {{DNNL_ARG_SRC, pd.src_desc()}, {DNNL_ARG_DST, pd.dst_desc()}}, std::move(bound));
    return plan;
  }

  bool fused_;
  runtime::Precision precision_;
  bool trans_a_, trans_b_;
  float alpha_, beta_;
  FusedActivation act_;
  int64_t K_, N_;
  Tensor b_;  // B's buffer, until packed
  bool released_ = false;  // the packed weights are all compute() reads
  std::vector<float> scaled_b_, bias_;
  std::unique_ptr<dnnl_backend::PackedWeights> packed_;
  mutable dnnl_backend::PrimitiveCache<std::tuple<int64_t, int, bool>, DnnlGemmPlan> cache_;
};

}  // namespace kestrel::cpu
