// u8 x s8 -> s32 2-D convolution on oneDNN over a zero-point-padded NHWC copy of the input (see int8_conv.h).
#include "providers/cpu/dnnl/int8_conv.h"

#include <cstring>

#include "providers/cpu/dnnl/int8_mat_mul.h"

namespace kestrel::cpu {

std::unique_ptr<Int8PackedConv> Int8PackedConv::from_constants(const KernelInfo& info, size_t w_index,
                                                               size_t w_zero_point_index) {
  const Tensor* w = info.constant_input(w_index);
  const Tensor* w_zero_point = info.has_input(w_zero_point_index) ? info.constant_input(w_zero_point_index) : nullptr;
  if (!int8_vnni_available() || !w || w->rank() != 4 || w->size() == 0) return nullptr;
  const bool u8 = w->type() == ElementType::kUInt8;
  if (!u8 && w->type() != ElementType::kInt8) return nullptr;
  if (info.has_input(w_zero_point_index) && !w_zero_point) return nullptr;  // a run-time zero point
  if (w_zero_point) {
    if (w_zero_point->type() != w->type()) return nullptr;
    for (int64_t i = 0; i < w_zero_point->size(); ++i) {
      const int32_t z = u8 ? w_zero_point->data<uint8_t>()[i] - 128 : w_zero_point->data<int8_t>()[i];
      if (z != 0) return nullptr;
    }
  } else if (u8) {
    return nullptr;  // u8 weights with zero point 0 would have zero point -128 after the shift
  }
  const int64_t group = info.attr_int("group", 1);
  if (group <= 0 || w->dim(0) % group != 0) return nullptr;  // the reference reports it
  return std::make_unique<Int8PackedConv>(info, *w);
}

Int8PackedConv::Int8PackedConv(const KernelInfo& info, const Tensor& w)
    : attrs_(WindowAttrs::parse(info, false)), group_(info.attr_int("group", 1)), M_(w.dim(0)), w_shape_(w.shape()) {
  weights_.resize(static_cast<size_t>(w.size()));
  if (w.type() == ElementType::kUInt8)
    for (size_t i = 0; i < weights_.size(); ++i) weights_[i] = static_cast<int8_t>(w.data<uint8_t>()[i] - 128);
  else
    std::memcpy(weights_.data(), w.data<int8_t>(), weights_.size());
  const int64_t per_channel = w.size() / M_;
  weight_sums_.assign(static_cast<size_t>(M_), 0);
  for (int64_t m = 0; m < M_; ++m)
    for (int64_t i = 0; i < per_channel; ++i) weight_sums_[static_cast<size_t>(m)] += weights_[static_cast<size_t>(m * per_channel + i)];
  Shape wd = w_shape_;
  if (group_ > 1) {
    wd[0] /= group_;
    wd.insert(wd.begin(), group_);
  }
  weights_dims_ = dnnl_backend::to_dims(wd);
  packed_ = std::make_unique<dnnl_backend::PackedWeights>(
      dnnl::memory::desc(weights_dims_, dnnl::memory::data_type::s8, dnnl_backend::plain_tag(wd.size())),
      weights_.data());
}

std::shared_ptr<const Int8ConvPlan> Int8PackedConv::plan(const Shape& padded, const Window3& g, int threads) const {
  Shape key = padded;
  key.push_back(threads);
  return plans_.get(key, [&] {
    namespace dn = dnnl_backend;
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    dn::ThreadScope scope(threads);
    dnnl::memory::dims strides, dilates, no_pad{0, 0};
    for (size_t i = 1; i < 3; ++i) {  // Window3 keeps 2-D windows in its last two slots
      strides.push_back(g.stride[i]);
      dilates.push_back(g.dilation[i] - 1);
    }
    const Shape ys{padded[0], M_, g.out_dims()[0], g.out_dims()[1]};
    const dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
        dnnl::memory::desc(dn::to_dims(padded), dt::u8, tag::nhwc), dnnl::memory::desc(weights_dims_, dt::s8, tag::any),
        dnnl::memory::desc(), dnnl::memory::desc(dn::to_dims(ys), dt::s32, tag::nhwc), strides, dilates, no_pad, no_pad);
    const dnnl::convolution_forward::primitive_desc pd(desc, dn::user_scratchpad_attr(), dn::engine());
    auto p = std::make_shared<Int8ConvPlan>();
    p->conv = dnnl::convolution_forward(pd);
    p->scratchpad = pd.scratchpad_desc();
    p->src = pd.src_desc();
    p->weights = pd.weights_desc();
    p->dst = pd.dst_desc();
    return std::shared_ptr<const Int8ConvPlan>(std::move(p));
  });
}

bool Int8PackedConv::accumulate(const KernelContext& ctx, const Tensor& X, const Tensor* x_zero_point,
                                Shape& out_shape, const int32_t*& acc) const {
  namespace dn = dnnl_backend;
  const bool s8 = X.type() == ElementType::kInt8;
  if ((!s8 && X.type() != ElementType::kUInt8) || X.rank() != 4 || X.size() == 0) return false;
  if (x_zero_point && (x_zero_point->type() != X.type() || x_zero_point->size() != 1 || x_zero_point->rank() > 1))
    return false;
  if (X.dim(1) != w_shape_[1] * group_) return false;
  const std::vector<int64_t> kernel = check_conv_shapes(ctx, attrs_, X.shape(), w_shape_, group_, false);
  const Window3 g = resolve_window(ctx, attrs_, spatial_dims(X.shape()), kernel);
  const int64_t N = X.dim(0), C = X.dim(1), H = X.dim(2), W = X.dim(3);
  const int64_t Ho = g.out_dims()[0], Wo = g.out_dims()[1];
  if (Ho <= 0 || Wo <= 0) return false;
  int32_t zx = s8 ? 128 : 0;
  if (x_zero_point) zx += s8 ? x_zero_point->data<int8_t>()[0] : x_zero_point->data<uint8_t>()[0];
  // The zero-point-padded NHWC copy (the sign flip of s8 inputs folded in).
  const int64_t pt = g.pad_begin[1], pl = g.pad_begin[2];
  const int64_t Hp = H + pt + g.pad_end[1], Wp = W + pl + g.pad_end[2];
  const Shape padded{N, C, Hp, Wp};
  uint8_t* buf = static_cast<uint8_t*>(dn::thread_scratch(0, static_cast<size_t>(N * Hp * Wp * C)));
  std::memset(buf, zx, static_cast<size_t>(N * Hp * Wp * C));
  const uint8_t flip = s8 ? 0x80 : 0;
  const uint8_t* x = static_cast<const uint8_t*>(X.raw_data());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < H; ++h) {
      uint8_t* row = buf + ((n * Hp + h + pt) * Wp + pl) * C;
      for (int64_t c = 0; c < C; ++c) {
        const uint8_t* src = x + ((n * C + c) * H + h) * W;
        for (int64_t w = 0; w < W; ++w) row[w * C + c] = src[w] ^ flip;
      }
    }
  const int64_t M = M_;
  int32_t* out = static_cast<int32_t*>(dn::thread_scratch(2, static_cast<size_t>(N * Ho * Wo * M) * 4));
  const int threads = dn::threads_for(N * Ho * Wo * (static_cast<int64_t>(weights_.size())), ctx.intra_op_threads());
  {
    dn::ThreadScope scope(threads);
    const auto p = plan(padded, g, threads);
    auto& eng = dn::engine();
    dn::execute(p->conv, p->scratchpad,
                {{DNNL_ARG_SRC, dnnl::memory(p->src, eng, buf)},
                 {DNNL_ARG_WEIGHTS, packed_->get(p->weights)},
                 {DNNL_ARG_DST, dnnl::memory(p->dst, eng, out)}});
  }
  if (zx != 0) {
    const int64_t pixels = N * Ho * Wo;
    for (int64_t i = 0; i < pixels; ++i)
      for (int64_t m = 0; m < M; ++m) out[i * M + m] -= zx * weight_sums_[static_cast<size_t>(m)];
  }
  out_shape = {N, M, Ho, Wo};
  acc = out;
  return true;
}

}  // namespace kestrel::cpu
