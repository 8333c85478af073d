// The oneDNN convolution behind the fast Conv and ai.kestrel FusedConv kernels (float, 1-D/2-D/3-D, groups
// and depthwise, dilations, strides, pads/auto_pad). Weights are reordered once into the layout the primitive
// prefers; primitives are made once per (input shape, thread count) and cached. Activations stay NCHW at the
// kernel boundary and go through oneDNN's blocked layout inside (one reorder each way), unless the FusedConv is
// channels_last (made by the layout_nhwc rule): then X, Z and Y are NHWC and the primitive reads and writes them
// directly. FusedConv's residual Z (when it has the output's shape), activation and the affine map after it
// (activation_scale, activation_shift) run as post-ops (sum, eltwise, eltwise_linear).
// SiLU is the exception: Kestrel's own pass after the primitive (fast::silu_in_place) costs about half of
// oneDNN 2.6's swish post-op (efficientnet_b0 runs it after every convolution).
// 3x3 stride-1 convolutions run oneDNN's Winograd kernel where it measured faster (prefers_winograd), on a team
// in row bands (row_bands, conv_row_bands.h).
// At bf16 precision the weights are packed as bfloat16 and X is converted by its reorder (added when X is
// channels_last); Y, the residual and the bias stay f32.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>
#include <string>

#include "providers/cpu/dnnl/conv_row_bands.h"
#include "providers/cpu/dnnl/dnnl_common.h"
#include "providers/cpu/dnnl/post_ops.h"
#include "providers/cpu/kernels/fast/silu.h"
#include "providers/cpu/kernels/onnx/conv.h"
#include "providers/cpu/kernels/onnx/nn_types.h"
#include "runtime/inline_shape.h"
#include "runtime/unaligned_constants.h"

namespace kestrel::cpu {

struct DnnlConvPlan {
  dnnl_backend::Executable conv;  // run({src, dst}); weights and bias are bound
  dnnl_backend::Reorder src_reorder, dst_reorder, residual_reorder;
  // A Winograd primitive is made for one image and run once per image (see DnnlConv::winograd below).
  int64_t images = 1;
  size_t src_image_bytes = 0, dst_image_bytes = 0;
  // Or, when not empty, row bands run side by side instead of `conv` and the reorders (see DnnlConv::row_bands);
  // the image sizes are then the channels-last tensors'.
  std::vector<dnnl_backend::ConvBand> bands;
};

class DnnlConv final : public Kernel {
 public:
  // What runs inside the primitive after the convolution.
  enum class Post {
    kActivation,
    kResidual,
    kNone
  };  // kResidual: sum of a same-shape residual, then activation

  // Declines (nullptr) what it does not handle: non-float types, weights or bias that are not initializers.
  // W is packed from the initializer as it is, possibly a view on unaligned bytes (PackedWeights reads it
  // with memcpy): no aligned copy of the weights is made.
  static std::unique_ptr<Kernel> create(const KernelInfo& info, bool fused) {
    const TypeInfo& xt = info.input_type(0);
    if (xt.kind != TypeInfo::Kind::kTensor || xt.element_type != ElementType::kFloat) return nullptr;
    const Tensor* w = runtime::constant_input_view(info, 1);
    if (!w || w->type() != ElementType::kFloat || w->rank() < 3 || w->rank() > 5 || w->size() == 0)
      return nullptr;
    if (fused && info.attr_int("channels_last", 0) != 0 && w->rank() != 4) return nullptr;
    if (info.has_input(2)) {
      const Tensor* b = info.constant_input(2);
      if (!b || b->type() != ElementType::kFloat || b->rank() != 1 || b->dim(0) != w->dim(0)) return nullptr;
    }
    return std::make_unique<DnnlConv>(info, *w, fused);
  }

  DnnlConv(const KernelInfo& info, const Tensor& w, bool fused)
      : attrs_(WindowAttrs::parse(info, false)),
        group_(info.attr_int("group", 1)),
        fused_(fused),
        precision_(info.precision()),
        channels_last_(fused && info.attr_int("channels_last", 0) != 0),
        w_(w) {
    if (fused_) {
      act_ = FusedActivation::parse(info);
      out_scale_ = info.attr_float("activation_scale", 1.0f);
      out_shift_ = info.attr_float("activation_shift", 0.0f);
      silu_after_ = act_.kind == FusedActivation::Kind::kSilu && out_scale_ == 1.0f && out_shift_ == 0.0f;
    }
    if (group_ <= 0 || w_.dim(0) % group_ != 0)
      info.fail("output channels W.shape[0] (" + std::to_string(w_.dim(0)) +
                ") must be divisible by group (" + std::to_string(group_) + ")");
    if (info.has_input(2)) b_ = *info.constant_input(2);
    Shape wd = w_.shape();
    if (group_ > 1) {
      wd[0] /= group_;
      wd.insert(wd.begin(), group_);
    }
    weights_dims_ = dnnl_backend::to_dims(wd);
    const dnnl::memory::desc plain(weights_dims_, dnnl::memory::data_type::f32,
                                   dnnl_backend::plain_tag(wd.size()));
    packed_ = std::make_unique<dnnl_backend::PackedWeights>(plain, w_.raw_data());
    released_ = pack_at_creation(info);
    if (released_) {
      w_ = Tensor::borrow(w_.type(), w_.shape(), nullptr);  // compute() reads its shape only
    } else if (!runtime::is_element_aligned(w_)) {
      // Packed on a run instead (for a shape known only then): from the aligned copy the plan keeps for the
      // runs, rather than from the view on the file, which would stay resident beside it.
      w_ = *info.constant_input(1);
      packed_ = std::make_unique<dnnl_backend::PackedWeights>(plain, w_.raw_data());
    }
  }

  bool owns_constant_input(size_t i) const override { return i == 1 && released_; }

  void compute(KernelContext& ctx) const override {
    namespace dn = dnnl_backend;
    const Tensor& X = ctx.input(0);
    const Tensor* Z = fused_ ? ctx.optional_input(3) : nullptr;
    if (X.type() != ElementType::kFloat)
      ctx.fail(std::string("X must be float for this kernel, got ") + element_type_name(X.type()));
    if (Z && Z->type() != ElementType::kFloat) ctx.fail("residual Z must be float");
    if (channels_last_ && X.rank() != 4) ctx.fail("channels_last needs a 4-D X, got " + shape_to_string(X.shape()));
    if (X.rank() != w_.rank()) check_conv_shapes(ctx, attrs_, X.shape(), w_.shape(), group_, false);  // reports it
    // Shapes in oneDNN's logical order (N, C, spatial...) whatever the layout in memory; ranks 3 to 5 here.
    runtime::InlineShape xs(X.shape());
    if (channels_last_) {
      const int64_t nchw[] = {X.dim(0), X.dim(3), X.dim(1), X.dim(2)};
      xs = runtime::InlineShape(nchw);
    }
    const std::span<const int64_t> kernel = check_conv_shapes(ctx, attrs_, xs.span(), w_.shape(), group_, false);
    const Window3 g = resolve_window(ctx, attrs_, spatial_dims(xs.span()), kernel);
    const int64_t N = xs[0], M = w_.dim(0);
    runtime::InlineShape ys;
    ys.push_back(N);
    ys.push_back(M);
    for (int64_t d : g.out_dims()) ys.push_back(d);
    if (channels_last_) {
      const int64_t nhwc[] = {ys[0], ys[2], ys[3], ys[1]};
      ys = runtime::InlineShape(nhwc);
    }
    // A residual of the output's own shape is a sum post-op; one that broadcasts is added afterwards.
    const bool residual_inside = Z && std::ranges::equal(Z->shape(), ys.span());
    // The sum post-op reads dst before writing it, so Y may take over the buffer of a residual no one reads
    // after this node instead of a copy of it (resnet50 at two threads: 16 copies of 0.4-3.2 MB, about 10% of
    // its time). Not when X is empty: the output is then the bias, written before Z is added.
    Tensor* in_place = residual_inside && X.size() > 0 ? ctx.reuse_input_as_output(3, 0, ys.span()) : nullptr;
    // every element is written
    Tensor& Y =
        in_place ? *in_place : ctx.allocate_uninitialized_output_dims(0, ElementType::kFloat, ys.span());
    if (Y.size() == 0) return;
    const int threads = ctx.intra_op_threads();
    const float* bias = b_.defined() ? b_.data<float>() : nullptr;
    if (X.size() == 0) {  // every tap reads padding: the output is the bias alone
      float* y = Y.data<float>();
      const int64_t pixels = Y.size() / (N * M);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t m = 0; m < M; ++m)
          for (int64_t p = 0; p < pixels; ++p)
            y[channels_last_ ? (n * pixels + p) * M + m : (n * M + m) * pixels + p] = bias ? bias[m] : 0.0f;
      finish_outside(ctx, Y, Z);
      return;
    }
    const int team = dn::threads_for(Y.size() * (w_.size() / M), threads);
    dn::ThreadScope scope(team);
    const Post mode = !Z ? Post::kActivation : residual_inside ? Post::kResidual : Post::kNone;
    runtime::InlineShape key(xs.span());
    key.push_back(team);
    key.push_back(static_cast<int64_t>(mode));
    const auto plan = cache_.get(key.span(), [&] { return make_plan(xs.span(), g, team, mode); });
    if (!plan->bands.empty())
      dn::run_row_bands(plan->bands, N, plan->src_image_bytes, plan->dst_image_bytes, X.raw_data(), Y.raw_data(),
                        residual_inside ? Z->raw_data() : nullptr, team);
    else
      run_whole(*plan, X, Y, residual_inside ? Z : nullptr, team);
    if (silu_after_ && mode != Post::kNone) fast::silu_in_place(Y.data<float>(), Y.size(), threads);
    if (Z && !residual_inside) finish_outside(ctx, Y, Z);
  }

 private:
  // One primitive over the whole tensors, with reorders around it when its layouts are not the tensors'; a residual
  // Z (of Y's shape) is put in dst for the sum post-op.
  static void run_whole(const DnnlConvPlan& plan, const Tensor& X, Tensor& Y, const Tensor* Z, int team) {
    namespace dn = dnnl_backend;
    const void* x = dn::converted_input(plan.src_reorder, X.raw_data(), team);
    void* y = dn::output_buffer(plan.dst_reorder, Y.raw_data());
    if (Z) {  // the sum post-op adds what dst holds before the convolution writes it
      if (plan.residual_reorder)
        plan.residual_reorder.run(Z->raw_data(), y, team);
      else if (Y.raw_data() != Z->raw_data())  // (Y may have taken over Z's buffer)
        std::memcpy(Y.raw_data(), Z->raw_data(), Z->bytes());
    }
    for (int64_t i = 0; i < plan.images; ++i)
      plan.conv.run({static_cast<const char*>(x) + i * plan.src_image_bytes,
                     static_cast<char*>(y) + i * plan.dst_image_bytes});
    dn::converted_output(plan.dst_reorder, y, Y.raw_data(), team);
  }

  // Residual and activation applied after the convolution (broadcast residuals, and the no-channel case).
  void finish_outside(const KernelContext& ctx, Tensor& Y, const Tensor* Z) const {
    float* y = Y.data<float>();
    if (Z) add_broadcast_into(ctx, y, Y.shape(), Z->data<float>(), Z->shape());
    act_.apply(y, Y.size());
    if (out_scale_ != 1.0f || out_shift_ != 0.0f)
      for (int64_t i = 0; i < Y.size(); ++i) y[i] = y[i] * out_scale_ + out_shift_;
  }

  // 3x3, stride 1, undilated, ungrouped 2-D convolutions in f32 run a Winograd kernel of oneDNN (F(2x2, 3x3), 2.25x
  // fewer multiplications than the direct one, or F(4x4, 3x3), 4x), which its convolution_auto never takes.
  // It reads and writes the channel-blocked layout: channels-last tensors are reordered on the way in and out.
  // Its input and output transforms cost per 2x2 tile and channel, so it pays when a tile's multiplications are
  // many (wide inputs) or the map has many tiles. Measured in the models at one thread, Winograd time over direct
  // time (reorders included): resnet18's 56x56 to 7x7 convolutions (64 to 512 channels in) 0.58-0.87, squeezenet's
  // 55x55 (16 in) 0.78-0.93 and 27x27 (32 in) 0.72, but its 13x13 ones (48 and 64 in) 1.07-1.10.
  // With a larger team than images, oneDNN 2.6 runs the transforms and products of each block of tiles as three
  // parallel regions, dozens per convolution, each one a barrier for the team: a team runs channels-last ones in
  // row bands instead, one one-thread primitive per band (row_bands), and the others on the direct kernel.
  bool winograd_shape(const Window3& g) const {
    if (g.spatial_rank != 2 || group_ != 1 || dnnl_backend::compute_type(precision_) != dnnl::memory::data_type::f32)
      return false;
    for (int i = 1; i < 3; ++i)
      if (g.kernel[i] != 3 || g.stride[i] != 1 || g.dilation[i] != 1) return false;
    return w_.size() <= kWinogradMaxWeights;
  }
  // Whether Winograd pays on one thread for `channels` inputs and `out_pixels` outputs (an image's, or a band's).
  // At 32 inputs and 128 outputs, one thread, whole model over direct: 9x27 outputs 0.80, 12x27 0.68, 14x27 0.69;
  // at 16 inputs, 18x18 0.96. So squeezenet1_1's 27x27 convolutions run Winograd in two bands of 13 and 14 rows
  // at two threads (before, below 400 outputs a band, they ran direct: 101 us against 107 on one thread).
  static bool winograd_pays(int64_t channels, int64_t out_pixels) {
    return channels >= kWinogradMinChannels || out_pixels >= kWinogradMinPixels;
  }
  bool prefers_winograd(std::span<const int64_t> xs, const Window3& g, int threads) const {
    return threads == 1 && winograd_shape(g) && winograd_pays(xs[1], g.out[1] * g.out[2]);
  }
  // oneDNN lists its F(2x2, 3x3) kernel first, but its F(4x4, 3x3) one measured faster wherever both ran, on one
  // thread: squeezenet1_1's 55x55 (16 in) 197 -> 147 us and 27x27 (32 in) 144 -> 117 us, a 56x56 64 -> 64 one
  // alone 459 -> 371 us (the same time in resnet18 and resnet50, where their weights stream from memory).
  static bool winograd_preferred(const char* impl_info) { return std::strstr(impl_info, "wino_4x3") != nullptr; }
  // Offers `take` oneDNN's kernels for `desc`, F(4x4, 3x3) ones first (winograd_preferred), until it takes
  // one (returns true); false when it took none. Throws dnnl::error when there is no kernel at all.
  static bool take_winograd_kernel(
      const dnnl::convolution_forward::desc& desc, const dnnl::primitive_attr& attr,
      const std::function<bool(dnnl::convolution_forward::primitive_desc&)>& take) {
    for (bool preferred_only : {true, false}) {
      dnnl::convolution_forward::primitive_desc pd(desc, attr, dnnl_backend::engine());
      do {
        if (preferred_only && !winograd_preferred(pd.impl_info_str())) continue;
        if (take(pd)) return true;
      } while (pd.next_impl());
    }
    return false;
  }
  static constexpr int64_t kWinogradMinChannels = 128, kWinogradMinPixels = 320;
  // Winograd weights take 16/9 (F(2x2, 3x3)) or 4 (F(4x4, 3x3)) times the space and oneDNN transforms them slowly:
  // with every eligible convolution of resnet18 on Winograd, its memory above the baseline went from 0.36 to 0.72 of
  // ORT's and its session creation from 0.9 to 2.1 of ORT's. Large weights (its last two stages) stay direct.
  static constexpr int64_t kWinogradMaxWeights = 256 * 1024;
  // Every band reads all the Winograd weights (4 times the plain ones for F(4x4, 3x3)): banded, they should stay in
  // a core's 1 MiB L2. In resnet50 at two threads, per convolution (medians of six interleaved runs), 56x56 64 -> 64
  // (590 KB of Winograd weights) went from 492 us direct to 254-314 us banded, but 28x28 128 -> 128 (2.4 MB) from
  // 486-496 to 552-569 us, though alone, its weights in cache, it ran in half the direct time.
  static constexpr int64_t kBandedWinogradMaxWeights = 64 * 1024;

  std::shared_ptr<const DnnlConvPlan> make_plan(std::span<const int64_t> xs, const Window3& g, int threads,
                                                Post mode) const {
    namespace dn = dnnl_backend;
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    dn::ThreadScope scope(threads);  // oneDNN sizes its work split by the thread count at creation
    const size_t nd = g.spatial_rank, off = 3 - nd;
    dnnl::memory::dims strides, dilates, pad_l, pad_r;
    for (size_t i = 0; i < nd; ++i) {
      strides.push_back(g.stride[off + i]);
      dilates.push_back(g.dilation[off + i] - 1);  // oneDNN counts dilation from 0
      pad_l.push_back(g.pad_begin[off + i]);
      pad_r.push_back(g.pad_end[off + i]);
    }
    Shape ys{xs[0], w_.dim(0)};
    for (int64_t d : g.out_dims()) ys.push_back(d);
    auto plan = std::make_shared<DnnlConvPlan>();
    const tag user_tag = channels_last_ ? tag::nhwc : dn::plain_tag(xs.size());
    const dnnl::memory::desc src_user(dn::to_dims(xs), dt::f32, user_tag);
    const dnnl::memory::desc dst_user(dn::to_dims(ys), dt::f32, user_tag);

    const dnnl::memory::desc b_md =
        b_.defined() ? dnnl::memory::desc({w_.dim(0)}, dt::f32, tag::a) : dnnl::memory::desc();
    dnnl::primitive_attr attr = dn::user_scratchpad_attr();
    dnnl::post_ops po;
    if (mode != Post::kNone) {  // kNone (broadcast residual): residual and activation come afterwards
      if (mode == Post::kResidual) po.append_sum(1.0f);
      if (!silu_after_) dn::append_activation(po, act_);
      if (out_scale_ != 1.0f || out_shift_ != 0.0f)
        po.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, out_scale_, out_shift_);
    }
    attr.set_post_ops(po);
    // Channel-blocked activations (nChw16c) first: the AVX-512 kernels' own layout, with reorders from/to
    // NCHW that copy 16-float runs (oneDNN's own choice, NHWC, needs transposing reorders that cost as much
    // as the convolutions). Few input channels (the first layer) want plain src; the last resort is oneDNN's
    // choice.
    // Channels-last tensors are read and written as they are (no reorder) when oneDNN has a kernel for that.
    const tag blocked = xs.size() == 3 ? tag::aBc16b : xs.size() == 4 ? tag::aBcd16b : tag::aBcde16b;
    const std::vector<std::pair<tag, tag>> attempts =
        channels_last_ ? std::vector<std::pair<tag, tag>>{{tag::nhwc, tag::nhwc}, {tag::any, tag::any}}
                       : std::vector<std::pair<tag, tag>>{{blocked, blocked}, {tag::any, blocked}, {tag::any, tag::any}};
    // The first real kernel (not the reference) over the layouts above for a src/weights data type; else the
    // last layout that had any implementation.
    auto describe = [&](dnnl::algorithm algorithm, dt type, tag src_tag, tag dst_tag, int64_t batch) {
      dnnl::memory::dims src_dims = dn::to_dims(xs), dst_dims = dn::to_dims(ys);
      src_dims[0] = dst_dims[0] = batch;
      return dnnl::convolution_forward::desc(
          dnnl::prop_kind::forward_inference, algorithm, dnnl::memory::desc(src_dims, type, src_tag),
          dnnl::memory::desc(weights_dims_, type, tag::any), b_md, dnnl::memory::desc(dst_dims, dt::f32, dst_tag),
          strides, dilates, pad_l, pad_r);
    };
    auto choose = [&](dt type) {
      std::optional<dnnl::convolution_forward::primitive_desc> chosen;
      for (const auto& [src_tag, dst_tag] : attempts) {
        try {
          chosen.emplace(describe(dnnl::algorithm::convolution_direct, type, src_tag, dst_tag, xs[0]), attr,
                       dn::engine());
        } catch (const dnnl::error&) {
          continue;  // this layout has no implementation at all; try the next
        }
        if (!dn::is_reference_impl(chosen->impl_info_str())) break;
      }
      return chosen;
    };
    std::optional<dnnl::convolution_forward::primitive_desc> chosen;
    // Convolutions with a short reduction stay f32 at reduced precision: each output then sums only a few products,
    // so rounding X and W to bf16 shows up almost undamped, and the conversion costs as much as the short dot
    // products save. This covers depthwise convolutions and the first convolution of an image model (3 channels x
    // 3x3 = 27 products), which alone cost ppocr_det's bf16 output 0.9963 -> 0.9997 in cosine.
    const bool depthwise = group_ > 1 && w_.dim(1) == 1;
    if (dn::compute_type(precision_) != dt::f32 && !depthwise && reduction_length() >= kMinReducedPrecisionLength) {
      chosen = choose(dn::compute_type(precision_));
      if (chosen && dn::is_reference_impl(chosen->impl_info_str())) chosen.reset();  // f32 is faster
    }
    // The Winograd primitive with its weights, or nothing (chosen unchanged) when there is none for this shape and
    // post-ops or its weights cannot be made. oneDNN makes a Winograd weights layout from the plain weights only and
    // makes nothing from it, and its Winograd kernels (F(2x2, 3x3), F(4x4, 3x3)) each have their own layout: the
    // first kernel whose weights exist or can still be made is taken, F(4x4, 3x3) first (winograd_preferred). The
    // primitive is made for one image, so its kernel does not change with the batch, and runs once per image on the
    // blocked tensors, whose images are contiguous.
    auto winograd = [&]() -> dnnl::memory {
      try {
        // The descriptor outlives pd: oneDNN's iterator over implementations (next_impl) keeps a pointer to it.
        const dnnl::convolution_forward::desc one_image =
            describe(dnnl::algorithm::convolution_winograd, dt::f32, blocked, blocked, 1);
        dnnl::memory weights;
        take_winograd_kernel(one_image, attr, [&](dnnl::convolution_forward::primitive_desc& pd) {
          try {
            weights = packed_->get(pd.weights_desc());
          } catch (const dnnl::error&) {
            return false;  // this kernel's layout cannot be made any more; try the next kernel
          }
          chosen.emplace(std::move(pd));
          return true;
        });
        return weights;
      } catch (const dnnl::error&) {
        // no Winograd kernel for this shape and post-ops on this CPU
      }
      return {};
    };
    const bool banded_winograd = !chosen && threads > 1 && channels_last_ && winograd_shape(g);
    if (banded_winograd && row_bands(*plan, xs, g, threads, attr, b_md, mode)) return plan;
    dnnl::memory weights;
    if (!chosen && prefers_winograd(xs, g, threads)) weights = winograd();
    if (!chosen) chosen = choose(dt::f32);
    if (!chosen) throw dnnl::error(dnnl_unimplemented, "no oneDNN convolution for this shape");
    if (!weights) {
      try {
        weights = packed_->get(chosen->weights_desc());
      } catch (const dnnl::error&) {
        weights = winograd();  // the weights exist in the Winograd layout only (an earlier plan chose it)
        if (!weights) throw;
      }
    }
    const auto& pd = *chosen;
    std::vector<std::pair<int, dnnl::memory>> bound{{DNNL_ARG_WEIGHTS, weights}};
    dnnl::memory::desc src_md = pd.src_desc(), dst_md = pd.dst_desc();  // the whole batch's layouts
    if (pd.src_desc().dims()[0] != xs[0]) {
      plan->images = xs[0];
      plan->src_image_bytes = src_md.get_size();
      plan->dst_image_bytes = dst_md.get_size();
      src_md = dnnl::memory::desc(dn::to_dims(xs), dt::f32, blocked);
      dst_md = dnnl::memory::desc(dn::to_dims(ys), dt::f32, blocked);
    }
    if (b_.defined()) bound.emplace_back(DNNL_ARG_BIAS, dnnl::memory(b_md, dn::engine(), const_cast<float*>(b_.data<float>())));
    plan->conv = dn::Executable(dnnl::convolution_forward(pd), pd.scratchpad_desc(),
                                {{DNNL_ARG_SRC, pd.src_desc()}, {DNNL_ARG_DST, pd.dst_desc()}}, std::move(bound));
    plan->src_reorder = dn::Reorder(src_user, src_md);
    plan->dst_reorder = dn::Reorder(dst_md, dst_user);
    if (mode == Post::kResidual && plan->dst_reorder) plan->residual_reorder = dn::Reorder(dst_user, dst_md);
    return plan;
  }

  // Fills plan.bands with one one-thread Winograd primitive per band of output rows, `threads` bands per image,
  // all reading one packed copy of the weights: the top band takes the first kernel (F(4x4, 3x3) first) whose
  // weights exist or can still be made and every other band one with the same weights layout. False, leaving the
  // plan as it was, when the weights are too large to share, a band would be too small for Winograd to pay or no
  // kernel serves every band.
  bool row_bands(DnnlConvPlan& plan, std::span<const int64_t> xs, const Window3& g, int threads,
                 const dnnl::primitive_attr& attr, const dnnl::memory::desc& b_md, Post mode) const {
    namespace dn = dnnl_backend;
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    using primitive_desc = dnnl::convolution_forward::primitive_desc;
    using dims = dnnl::memory::dims;
    const std::vector<dn::RowBand> rows =
        dn::split_rows(g.in[1], g.out[1], g.kernel[1], g.stride[1], g.dilation[1], g.pad_begin[1], threads);
    if (w_.size() > kBandedWinogradMaxWeights || rows.empty() ||
        !winograd_pays(xs[1], (rows[0].out_end - rows[0].out_begin) * g.out[2]))
      return false;
    dn::ThreadScope one(1);  // each band runs on one thread
    const int64_t C = xs[1], M = w_.dim(0), W = g.in[2], OW = g.out[2];
    auto src_rows = [&](const dn::RowBand& r, tag t) {
      return dnnl::memory::desc({1, C, r.in_end - r.in_begin, W}, dt::f32, t);
    };
    auto dst_rows = [&](const dn::RowBand& r, tag t) {
      return dnnl::memory::desc({1, M, r.out_end - r.out_begin, OW}, dt::f32, t);
    };
    // The descriptors outlive the primitive descriptors: oneDNN's iterator over implementations (next_impl) keeps
    // a pointer to its descriptor.
    std::vector<dnnl::convolution_forward::desc> descs;
    for (const dn::RowBand& r : rows)
      descs.emplace_back(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_winograd,
                         src_rows(r, tag::nChw16c), dnnl::memory::desc(weights_dims_, dt::f32, tag::any), b_md,
                         dst_rows(r, tag::nChw16c), dims{1, 1}, dims{0, 0}, dims{r.pad_begin, g.pad_begin[2]},
                         dims{r.pad_end, g.pad_end[2]});
    // Every band's first kernel with the top kernel's weights layout; empty if a band has none.
    auto same_layout = [&](const primitive_desc& top) {
      std::vector<primitive_desc> pds{top};
      for (size_t b = 1; b < rows.size(); ++b) {
        primitive_desc pd(descs[b], attr, dn::engine());
        while (pd.weights_desc() != top.weights_desc())
          if (!pd.next_impl()) return std::vector<primitive_desc>{};
        pds.push_back(std::move(pd));
      }
      return pds;
    };
    std::vector<primitive_desc> pds;
    dnnl::memory weights;
    try {
      take_winograd_kernel(descs[0], attr, [&](primitive_desc& top) {
        std::vector<primitive_desc> candidates = same_layout(top);
        if (candidates.empty()) return false;
        try {
          weights = packed_->get(top.weights_desc());
        } catch (const dnnl::error&) {
          return false;  // this layout cannot be made any more
        }
        pds = std::move(candidates);
        return true;
      });
    } catch (const dnnl::error&) {
      return false;  // no Winograd kernel for a band's shape and post-ops on this CPU
    }
    if (pds.empty()) return false;
    std::vector<std::pair<int, dnnl::memory>> bound{{DNNL_ARG_WEIGHTS, weights}};
    if (b_.defined())
      bound.emplace_back(DNNL_ARG_BIAS, dnnl::memory(b_md, dn::engine(), const_cast<float*>(b_.data<float>())));
    for (size_t b = 0; b < rows.size(); ++b) {
      const dn::RowBand& r = rows[b];
      const primitive_desc& pd = pds[b];
      dn::ConvBand band;
      band.conv = dn::Executable(dnnl::convolution_forward(pd), pd.scratchpad_desc(),
                                 {{DNNL_ARG_SRC, pd.src_desc()}, {DNNL_ARG_DST, pd.dst_desc()}}, bound);
      band.src = dn::Reorder(src_rows(r, tag::nhwc), pd.src_desc());
      band.dst = dn::Reorder(pd.dst_desc(), dst_rows(r, tag::nhwc));
      if (mode == Post::kResidual) band.residual = dn::Reorder(dst_rows(r, tag::nhwc), pd.dst_desc());
      band.src_offset = static_cast<size_t>(r.in_begin * W * C) * sizeof(float);
      band.dst_offset = static_cast<size_t>(r.out_begin * OW * M) * sizeof(float);
      plan.bands.push_back(std::move(band));
    }
    plan.src_image_bytes = static_cast<size_t>(g.in[1] * W * C) * sizeof(float);
    plan.dst_image_bytes = static_cast<size_t>(g.out[1] * OW * M) * sizeof(float);
    return true;
  }

  // Packs the weights for the primitive of the declared input shape and makes that primitive; true when the
  // plain weights are no longer read.
  bool pack_at_creation(const KernelInfo& info) {
    // The weights are packed now, not on the first run, and the primitive for the declared input shape is
    // made and kept for the runs. A symbolic batch is taken as 1: the weights' layout does not depend on it,
    // and a layout asked for later is reordered from the packed copy. Once packed, the model's copy may go
    // (owns_constant_input).
    const TypeInfo& xt = info.input_type(0);
    if (!xt.shape || xt.shape->empty()) return false;
    Shape xs;
    for (size_t i = 0; i < xt.shape->size(); ++i) {
      const Dim& d = (*xt.shape)[i];
      if (!d.fixed() && i > 0) return false;
      xs.push_back(d.fixed() ? d.value : 1);
    }
    if (channels_last_) {
      if (xs.size() != 4) return false;
      xs = {xs[0], xs[3], xs[1], xs[2]};
    }
    try {
      if (xs.size() == w_.rank() && xs[1] == w_.dim(1) * group_ && shape_size(xs) > 0) {
        const Window3 g = resolve_window(info, attrs_, spatial_dims(xs), spatial_dims(w_.shape()));
        const Post mode = fused_ && info.has_input(3) ? Post::kResidual : Post::kActivation;
        int64_t outputs = xs[0] * w_.dim(0);
        for (int64_t d : g.out_dims()) outputs *= d;
        if (outputs <= 0) return false;
        // The same team and key compute() uses for this shape (the session compiles its plan on its team).
        const int team = dnnl_backend::threads_for(outputs * (w_.size() / w_.dim(0)), omp_get_max_threads());
        Shape key = xs;
        key.push_back(team);
        key.push_back(static_cast<int64_t>(mode));
        cache_.get(key, [&] { return make_plan(xs, g, team, mode); });  // packs the weights
        return packed_->release_plain();
      }
    } catch (const std::exception&) {
      // Bad shapes are reported by compute(), against the actual input.
    }
    return false;
  }

  // Shortest reduction (input channels per group x kernel window) run in reduced precision.
  static constexpr int64_t kMinReducedPrecisionLength = 32;

  // The number of products each output sums: W's dims after the first.
  int64_t reduction_length() const {
    int64_t length = 1;
    for (size_t d = 1; d < w_.rank(); ++d) length *= w_.dim(d);
    return length;
  }

  WindowAttrs attrs_;
  int64_t group_;
  bool fused_;
  runtime::Precision precision_;
  bool channels_last_;
  FusedActivation act_;
  float out_scale_ = 1.0f, out_shift_ = 0.0f;  // y = act(...) * scale + shift
  bool silu_after_ = false;                     // SiLU by fast::silu_in_place, not a post-op
  Tensor w_, b_;                                // w_: after packing, W's type and shape only
  bool released_ = false;                       // the packed weights are all compute() reads
  dnnl::memory::dims weights_dims_;
  std::unique_ptr<dnnl_backend::PackedWeights> packed_;
  mutable dnnl_backend::PrimitiveCache<Shape, DnnlConvPlan, dnnl_backend::DimsLess> cache_;
};

}  // namespace kestrel::cpu
