// Fast ConvTranspose (opsets 1 and 11, float) on oneDNN's deconvolution: 1-D/2-D/3-D, groups, strides,
// dilations, explicit pads and output_padding (as less padding at the end), bias added by Kestrel. Weights
// and bias must be initializers: they are reordered once into the primitive's layout; primitives are made
// once per (input shape, thread count) and cached. Activations stay NCHW at the kernel boundary and go
// through oneDNN's channel-blocked layout inside. output_shape and auto_pad SAME_* (whose pad split the
// reference works out), and shapes oneDNN has no kernel for, run the reference kernel.
#include <omp.h>

#include <optional>
#include <string>

#include "providers/cpu/dnnl/dnnl_common.h"
#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/onnx/conv.h"
#include "providers/cpu/kernels/onnx/nn_types.h"
#include "runtime/inline_shape.h"

namespace kestrel::cpu {
namespace {

struct DeconvPlan {
  dnnl_backend::Executable deconv;  // run({src, dst}); the packed weights are bound
  dnnl_backend::Reorder src_reorder, dst_reorder;
};

// oneDNN 2.6 adds a deconvolution's bias in a separate plain loop that costs several times the deconvolution
// itself (2x2 stride-2 upsampling): one vectorised pass over the NCHW output is cheaper.
KESTREL_ISA_CLONES void add_bias(float* y, const float* b, int64_t N, int64_t M, int64_t plane) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) {
      float* p = y + (n * M + m) * plane;
      const float v = b[m];
#pragma omp simd
      for (int64_t i = 0; i < plane; ++i) p[i] += v;
    }
}

class DnnlConvTranspose final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (!fast::input_is_float(info, 0)) return nullptr;
    const Tensor* w = info.constant_input(1);
    if (!w || w->type() != ElementType::kFloat || w->rank() < 3 || w->rank() > 5 || w->size() == 0)
      return nullptr;
    if (info.has_input(2)) {
      const Tensor* b = info.constant_input(2);
      if (!b || b->type() != ElementType::kFloat) return nullptr;
    }
    const std::string auto_pad = info.attr_string("auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "VALID") return nullptr;
    if (!info.attr_ints("output_shape", {}).empty()) return nullptr;
    return std::make_unique<DnnlConvTranspose>(info, *w);
  }

  DnnlConvTranspose(const KernelInfo& info, const Tensor& w)
      : reference_(fast::reference_kernel(info)),
        attrs_(WindowAttrs::parse(info, false)),
        group_(info.attr_int("group", 1)),
        output_padding_(info.attr_ints("output_padding", {})),
        w_(w) {
    if (info.has_input(2)) b_ = *info.constant_input(2);
    // ONNX W is [C, M/group, k...]; oneDNN's deconvolution weights are (group, M/group, C/group, k...), so
    // the given memory is the "io" order of those dims.
    if (group_ <= 0 || w_.dim(0) % group_ != 0) return;  // compute() lets the reference report it
    const size_t nd = w_.rank() - 2;
    using tag = dnnl::memory::format_tag;
    Shape wd = w_.shape();
    std::swap(wd[0], wd[1]);
    wd[1] /= group_;
    tag plain;
    if (group_ > 1) {
      wd.insert(wd.begin(), group_);
      plain = nd == 1 ? tag::acbd : nd == 2 ? tag::acbde : tag::acbdef;
    } else {
      plain = nd == 1 ? tag::bac : nd == 2 ? tag::bacd : tag::bacde;
    }
    weights_dims_ = dnnl_backend::to_dims(wd);
    packed_ = std::make_unique<dnnl_backend::PackedWeights>(
        dnnl::memory::desc(weights_dims_, dnnl::memory::data_type::f32, plain), w_.raw_data());
  }

  void compute(KernelContext& ctx) const override {
    namespace dn = dnnl_backend;
    const Tensor& X = ctx.input(0);
    if (!packed_ || X.type() != ElementType::kFloat) return reference_->compute(ctx);
    const std::span<const int64_t> kernel = check_conv_shapes(ctx, attrs_, X.shape(), w_.shape(), group_, true);
    const int64_t M = w_.dim(1) * group_;
    if (b_.defined() && (b_.rank() != 1 || b_.dim(0) != M)) return reference_->compute(ctx);  // its message
    const size_t nd = X.rank() - 2;
    if (!output_padding_.empty() && output_padding_.size() != nd) return reference_->compute(ctx);
    if (!attrs_.pads.empty() && attrs_.pads.size() != 2 * nd) return reference_->compute(ctx);
    if ((!attrs_.strides.empty() && attrs_.strides.size() != nd) ||
        (!attrs_.dilations.empty() && attrs_.dilations.size() != nd))
      return reference_->compute(ctx);
    // Output size per the spec: stride (in - 1) + output_padding + dilated kernel - pads.
    Geometry g;
    g.rank = nd;
    runtime::InlineShape ys;  // rank 3 to 5 (W's)
    ys.push_back(X.dim(0));
    ys.push_back(M);
    for (size_t i = 0; i < nd; ++i) {
      const int64_t s = attrs_.strides.empty() ? 1 : attrs_.strides[i];
      const int64_t d = attrs_.dilations.empty() ? 1 : attrs_.dilations[i];
      const bool pads = attrs_.auto_pad == "NOTSET" && !attrs_.pads.empty();
      const int64_t pb = pads ? attrs_.pads[i] : 0, pe = pads ? attrs_.pads[i + nd] : 0;
      const int64_t adj = output_padding_.empty() ? 0 : output_padding_[i];
      const int64_t out = s * (X.dim(2 + i) - 1) + adj + (kernel[i] - 1) * d + 1 - pb - pe;
      if (out < 0 || s <= 0 || d <= 0 || pb < 0 || pe < 0 || adj < 0) return reference_->compute(ctx);
      ys.push_back(out);
      g.strides[i] = s;
      g.dilates[i] = d - 1;  // oneDNN counts dilation from 0
      g.pad_l[i] = pb;
      g.pad_r[i] = pe - adj;  // output_padding: extra output rows at the end
    }
    int64_t y_elements = 1;
    for (int64_t d : ys.span()) y_elements *= d;
    if (X.size() == 0 || y_elements == 0) return reference_->compute(ctx);
    const int threads = ctx.intra_op_threads();
    // Multiply-adds: every input element meets M/group output channels times the kernel.
    const int team = dn::threads_for(X.size() * (w_.size() / w_.dim(0)), threads);
    runtime::InlineShape key(X.shape());
    key.push_back(team);
    std::shared_ptr<const DeconvPlan> plan;
    try {
      plan = cache_.get(key.span(), [&] { return make_plan(X.shape(), ys.span(), g, team); });
    } catch (const dnnl::error&) {
      return reference_->compute(ctx);  // no oneDNN kernel for this geometry (e.g. negative end padding)
    }
    // every element is written
    Tensor& Y = ctx.allocate_uninitialized_output_dims(0, ElementType::kFloat, ys.span());
    dn::ThreadScope scope(team);
    const void* x = dn::converted_input(plan->src_reorder, X.raw_data(), team);
    void* y = dn::output_buffer(plan->dst_reorder, Y.raw_data());
    plan->deconv.run({x, y});
    dn::converted_output(plan->dst_reorder, y, Y.raw_data(), team);
    if (b_.defined()) add_bias(Y.data<float>(), b_.data<float>(), ys[0], M, y_elements / (ys[0] * M));
  }

 private:
  struct Geometry {  // per spatial dim, in oneDNN's terms
    size_t rank = 0;
    int64_t strides[3] = {}, dilates[3] = {}, pad_l[3] = {}, pad_r[3] = {};
    dnnl::memory::dims dims(const int64_t (&v)[3]) const { return dnnl::memory::dims(v, v + rank); }
  };

  std::shared_ptr<const DeconvPlan> make_plan(std::span<const int64_t> xs, std::span<const int64_t> ys,
                                              const Geometry& g, int threads) const {
    namespace dn = dnnl_backend;
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    dn::ThreadScope scope(threads);  // oneDNN sizes its work split by the thread count at creation
    auto plan = std::make_shared<DeconvPlan>();
    const dnnl::memory::desc src_user(dn::to_dims(xs), dt::f32, dn::plain_tag(xs.size()));
    const dnnl::memory::desc dst_user(dn::to_dims(ys), dt::f32, dn::plain_tag(ys.size()));
    const dnnl::memory::desc w_any(weights_dims_, dt::f32, tag::any);
    const dnnl::primitive_attr attr = dn::user_scratchpad_attr();
    // Channel-blocked activations first (the AVX-512 kernels' own layout, cheap reorders from NCHW), then
    // oneDNN's choice; a reference implementation is taken only when nothing else exists.
    const tag blocked = xs.size() == 3 ? tag::aBc16b : xs.size() == 4 ? tag::aBcd16b : tag::aBcde16b;
    std::optional<dnnl::deconvolution_forward::primitive_desc> chosen;
    // Few output channels (a one-channel map) would fill a 16-channel block mostly with padding:
    // channels-last there.
    const tag first = ys[1] < 16 && xs.size() == 4 ? tag::nhwc : blocked;
    for (tag t : {first, blocked, tag::any}) {
      const dnnl::deconvolution_forward::desc desc(
          dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
          dnnl::memory::desc(dn::to_dims(xs), dt::f32, t), w_any,
          dnnl::memory::desc(dn::to_dims(ys), dt::f32, t), g.dims(g.strides), g.dims(g.dilates),
          g.dims(g.pad_l), g.dims(g.pad_r));
      try {
        chosen.emplace(desc, attr, dn::engine());
      } catch (const dnnl::error&) {
        continue;
      }
      if (std::string(chosen->impl_info_str()).rfind("ref", 0) != 0) break;
    }
    if (!chosen) throw dnnl::error(dnnl_unimplemented, "no oneDNN deconvolution for this shape");
    const auto& pd = *chosen;
    plan->deconv = dn::Executable(dnnl::deconvolution_forward(pd), pd.scratchpad_desc(),
                                  {{DNNL_ARG_SRC, pd.src_desc()}, {DNNL_ARG_DST, pd.dst_desc()}},
                                  {{DNNL_ARG_WEIGHTS, packed_->get(pd.weights_desc())}});
    plan->src_reorder = dn::Reorder(src_user, pd.src_desc());
    plan->dst_reorder = dn::Reorder(pd.dst_desc(), dst_user);
    return plan;
  }

  std::unique_ptr<Kernel> reference_;
  WindowAttrs attrs_;
  int64_t group_;
  std::vector<int64_t> output_padding_;
  Tensor w_, b_;
  dnnl::memory::dims weights_dims_;
  std::unique_ptr<dnnl_backend::PackedWeights> packed_;
  mutable dnnl_backend::PrimitiveCache<Shape, DeconvPlan, dnnl_backend::DimsLess> cache_;
};

}  // namespace

KESTREL_FAST_KERNEL(ConvTranspose, "", 1, 10, "float", 10, &DnnlConvTranspose::create);
KESTREL_FAST_KERNEL(ConvTranspose, "", 11, 1000, "float", 10, &DnnlConvTranspose::create);

}  // namespace kestrel::cpu
