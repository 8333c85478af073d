// u8 x s8 -> s32 2-D convolution on oneDNN over a zero-point-padded NHWC copy of the input (see int8_conv.h).
#include "providers/cpu/dnnl/int8_conv.h"

#include <array>
#include <cstring>
#include <optional>
#include <string>

#include "providers/cpu/dnnl/int8_mat_mul.h"
#include "providers/cpu/kernels/fast/byte_lookup.h"
#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/parallel_ranges.h"

namespace kestrel::cpu {
namespace {

// dst[i] = src[i] ^ 0x80 for i < n: int8 values as uint8 ones 128 higher. 64 bytes at a time; dst may be src.
KESTREL_ISA_CLONES void flip_sign_bits(const uint8_t* src, uint8_t* dst, size_t n) {
  typedef uint8_t Bytes64 __attribute__((vector_size(64), aligned(1), may_alias));
  size_t i = 0;
  for (; i + 64 <= n; i += 64)
    *reinterpret_cast<Bytes64*>(dst + i) = *reinterpret_cast<const Bytes64*>(src + i) ^ static_cast<uint8_t>(0x80);
  for (; i < n; ++i) dst[i] = src[i] ^ 0x80;
}

}  // namespace

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
    : attrs_(WindowAttrs::parse(info, false)),
      group_(info.attr_int("group", 1)),
      channels_last_(info.attr_int("channels_last", 0) != 0),
      M_(w.dim(0)),
      w_shape_(w.shape()) {
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

bool Int8PackedConv::set_input_table(const Tensor& table) {
  if (!channels_last_ || !fast::has_vbmi() || table.rank() != 1 || table.size() != 256 ||
      (table.type() != ElementType::kUInt8 && table.type() != ElementType::kInt8))
    return false;
  table_type_ = table.type();
  table_.resize(256);
  const uint8_t to_u8 = table.type() == ElementType::kInt8 ? 0x80 : 0;  // int8 entries as u8 ones 128 higher
  const auto* entries = static_cast<const uint8_t*>(table.raw_data());
  for (int i = 0; i < 256; ++i) table_[static_cast<size_t>(i)] = entries[i] ^ to_u8;
  return true;
}

void Int8PackedConv::set_requantization(std::vector<float> scales, int32_t y_zero_point, ElementType out_type) {
  scales_ = std::move(scales);
  y_zero_point_ = y_zero_point;
  out_type_ = out_type;
}

std::shared_ptr<const Int8ConvPlan> Int8PackedConv::plan(const Shape& x_shape, const Run& run, int threads,
                                                         bool s8, bool quantized, bool in_place) const {
  // Built on the stack: a run looks its plan up without allocating.
  const std::array<int64_t, 12> key{x_shape[0],
                                    x_shape[1],
                                    x_shape[2],
                                    x_shape[3],
                                    run.window.pad_begin[1],
                                    run.window.pad_begin[2],
                                    run.window.pad_end[1],
                                    run.window.pad_end[2],
                                    int64_t{threads},
                                    int64_t{s8},
                                    int64_t{quantized},
                                    int64_t{in_place}};
  return plans_.get(std::span<const int64_t>(key), [&]() -> std::shared_ptr<const Int8ConvPlan> {
    namespace dn = dnnl_backend;
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    dn::ThreadScope scope(threads);
    const Window3& g = run.window;
    const int64_t N = x_shape[0], C = x_shape[1];
    const int64_t Hp = x_shape[2] + g.pad_begin[1] + g.pad_end[1], Wp = x_shape[3] + g.pad_begin[2] + g.pad_end[2];
    dnnl::memory::dims strides, dilates, pad_begin{0, 0}, pad_end{0, 0};
    for (size_t i = 1; i < 3; ++i) {  // Window3 keeps 2-D windows in its last two slots
      strides.push_back(g.stride[i]);
      dilates.push_back(g.dilation[i] - 1);
      if (in_place) {
        pad_begin[i - 1] = g.pad_begin[i];
        pad_end[i - 1] = g.pad_end[i];
      }
    }
    const dnnl::memory::desc padded =
        in_place ? dnnl::memory::desc({N, C, x_shape[2], x_shape[3]}, dt::u8, tag::nhwc)
                 : dnnl::memory::desc({N, C, Hp, Wp}, dt::u8, tag::nhwc);
    const ElementType out_type = quantized ? out_type_ : ElementType::kInt32;
    const dt y_type = out_type == ElementType::kUInt8 ? dt::u8 : out_type == ElementType::kInt8 ? dt::s8 : dt::s32;
    dnnl::primitive_attr attr = dn::user_scratchpad_attr();
    if (quantized) {
      // Per output channel, fixed at creation (oneDNN 2.6 convolutions take no run-time scales).
      attr.set_output_scales(2, scales_);
      dnnl::post_ops po;  // + y_zero_point before rounding
      po.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, 1.0f, static_cast<float>(y_zero_point_));
      attr.set_post_ops(po);
    }
    const dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, padded,
        dnnl::memory::desc(weights_dims_, dt::s8, tag::any),
        quantized ? dnnl::memory::desc({M_}, dt::s32, tag::a) : dnnl::memory::desc(),
        dnnl::memory::desc(dn::to_dims(run.out), y_type, tag::nhwc), strides, dilates, pad_begin, pad_end);
    std::optional<dnnl::convolution_forward::primitive_desc> made;
    try {
      made.emplace(desc, attr, dn::engine());
    } catch (const dnnl::error&) {
      if (quantized) return nullptr;  // no kernel at all for these attributes
      throw;
    }
    // oneDNN's direct jit kernels beat its first choices (brgconv, brdgmm) on this CPU (Zen 5): by 0-20% on
    // dense convolutions, most on few input channels or large maps (1 and 2 threads), and on depthwise 3x3
    // windows over output maps of 48x48 and more; on small depthwise maps and 5x5 windows brdgmm was faster.
    const bool dense = group_ == 1;
    const bool depthwise_3x3 = group_ == M_ && w_shape_[1] == 1 && w_shape_[2] == 3 && w_shape_[3] == 3;
    if (dense || (depthwise_3x3 && run.out[2] * run.out[3] >= 2048)) {
      dnnl::convolution_forward::primitive_desc other = *made;
      while (std::string(other.impl_info_str()).rfind("jit_int8", 0) != 0 && other.next_impl()) {
      }
      if (std::string(other.impl_info_str()).rfind("jit_int8", 0) == 0) made.emplace(other);
    }
    const auto& pd = *made;
    if (quantized && std::string(pd.impl_info_str()).rfind("ref", 0) == 0) return nullptr;
    auto p = std::make_shared<Int8ConvPlan>();
    std::vector<std::pair<int, dnnl::memory::desc>> args{{DNNL_ARG_SRC, pd.src_desc()}};
    if (quantized) args.emplace_back(DNNL_ARG_BIAS, dnnl::memory::desc({M_}, dt::s32, tag::a));
    args.emplace_back(DNNL_ARG_DST, pd.dst_desc());
    p->conv = dn::Executable(dnnl::convolution_forward(pd), pd.scratchpad_desc(), std::move(args),
                             {{DNNL_ARG_WEIGHTS, packed_->get(pd.weights_desc())}});
    if (channels_last_) return std::shared_ptr<const Int8ConvPlan>(std::move(p));  // X and Y are NHWC already
    // NCHW input -> the inside of the padded NHWC buffer (strides of the whole buffer); NHWC sums -> NCHW.
    const dt x_type = s8 ? dt::s8 : dt::u8;
    const dnnl::memory::desc src_user(dn::to_dims(x_shape), x_type, tag::nchw);
    const dnnl::memory::desc src_window(dn::to_dims(x_shape), x_type, dnnl::memory::dims{Hp * Wp * C, 1, Wp * C, C});
    p->src_reorder = dn::Reorder(src_user, src_window);
    p->dst_reorder = dn::Reorder(pd.dst_desc(), dnnl::memory::desc(dn::to_dims(run.out), y_type, tag::nchw));
    return std::shared_ptr<const Int8ConvPlan>(std::move(p));
  });
}

bool Int8PackedConv::prepare(const KernelContext& ctx, const Tensor& X, const Tensor* x_zero_point, Run& run) const {
  if ((X.type() != ElementType::kInt8 && X.type() != ElementType::kUInt8) || X.rank() != 4 || X.size() == 0)
    return false;
  const ElementType xt = input_type(X);  // what the convolution reads: table[X] with an input table
  const bool s8 = xt == ElementType::kInt8;
  if (x_zero_point && (x_zero_point->type() != xt || x_zero_point->size() != 1 || x_zero_point->rank() > 1))
    return false;
  run.x = channels_last_ ? Shape{X.dim(0), X.dim(3), X.dim(1), X.dim(2)} : X.shape();
  if (run.x[1] != w_shape_[1] * group_) return false;
  const std::span<const int64_t> kernel = check_conv_shapes(ctx, attrs_, run.x, w_shape_, group_, false);
  run.window = resolve_window(ctx, attrs_, spatial_dims(run.x), kernel);
  const std::span<const int64_t> out = run.window.out_dims();
  if (out[0] <= 0 || out[1] <= 0) return false;
  run.out = {X.dim(0), M_, out[0], out[1]};
  run.y_shape = channels_last_ ? Shape{X.dim(0), out[0], out[1], M_} : run.out;
  run.x_zero_point = s8 ? 128 : 0;
  if (x_zero_point) run.x_zero_point += s8 ? x_zero_point->data<int8_t>()[0] : x_zero_point->data<uint8_t>()[0];
  return true;
}

bool Int8PackedConv::reads_in_place(const Tensor& X, const Run& run) const {
  const Window3& g = run.window;
  const bool no_padding =
      g.pad_begin[1] == 0 && g.pad_begin[2] == 0 && g.pad_end[1] == 0 && g.pad_end[2] == 0;
  return channels_last_ && table_.empty() && X.type() == ElementType::kUInt8 &&
         (no_padding || run.x_zero_point == 0);
}

const uint8_t* Int8PackedConv::padded_input(const Tensor& X, const Run& run, const Int8ConvPlan& p,
                                            int threads) const {
  namespace dn = dnnl_backend;
  const bool s8 = input_type(X) == ElementType::kInt8;
  const Window3& g = run.window;
  const int64_t N = run.x[0], C = run.x[1], H = run.x[2], W = run.x[3];
  const int64_t Hp = H + g.pad_begin[1] + g.pad_end[1], Wp = W + g.pad_begin[2] + g.pad_end[2];
  const size_t bytes = static_cast<size_t>(N * Hp * Wp * C);
  if (channels_last_) {
    // Rows of X into the inside of the buffer, s8 values moved to u8 (a + 128) on the way.
    // Only the padding gets the zero point: the rows above and below X, and each row's ends.
    uint8_t* buf = static_cast<uint8_t*>(dn::thread_scratch(0, bytes + 8));
    const size_t row = static_cast<size_t>(W * C), padded_row = static_cast<size_t>(Wp * C);
    const size_t left = static_cast<size_t>(g.pad_begin[2] * C), right = static_cast<size_t>(g.pad_end[2] * C);
    const auto* x = static_cast<const uint8_t*>(X.raw_data());
    const auto zero = static_cast<uint8_t>(run.x_zero_point);
    for (int64_t n = 0; n < N; ++n) {
      uint8_t* image = buf + n * Hp * static_cast<int64_t>(padded_row);
      std::memset(image, zero, static_cast<size_t>(g.pad_begin[1]) * padded_row);
      std::memset(image + (g.pad_begin[1] + H) * static_cast<int64_t>(padded_row), zero,
                  static_cast<size_t>(g.pad_end[1]) * padded_row);
    }
    // The rows, split over the threads when there are enough bytes to pay for the fork.
    parallel_ranges(N * H, threads, threads > 1 && bytes >= (size_t{1} << 17), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / H, h = r % H;
        const uint8_t* src = x + r * static_cast<int64_t>(row);
        uint8_t* dst = buf + (n * Hp + h + g.pad_begin[1]) * static_cast<int64_t>(padded_row);
        std::memset(dst, zero, left);
        if (!table_.empty())  // u8 entries (see set_input_table), indexed by X's storage order
          fast::lookup_bytes(src, dst + left, row, table_.data(), X.type() == ElementType::kInt8 ? 0x80 : 0);
        else if (s8)
          flip_sign_bits(src, dst + left, row);
        else
          std::memcpy(dst + left, src, row);
        std::memset(dst + left + row, zero, right);
      }
    });
    return buf;
  }
  // The zero point everywhere (as stored: s8 inputs get their sign bit flipped afterwards), then X inside.
  uint8_t* buf = static_cast<uint8_t*>(dn::thread_scratch(0, bytes + 8));
  std::memset(buf, s8 ? (run.x_zero_point ^ 0x80) : run.x_zero_point, bytes);
  p.src_reorder.run(X.raw_data(), buf + (g.pad_begin[1] * Wp + g.pad_begin[2]) * C, threads);
  if (s8) flip_sign_bits(buf, buf, bytes);  // a + 128
  return buf;
}

void Int8PackedConv::accumulate(const KernelContext& ctx, const Tensor& X, const Run& run, int32_t* y) const {
  namespace dn = dnnl_backend;
  const int64_t out_size = shape_size(run.out);
  const int threads = dn::threads_for(out_size * static_cast<int64_t>(weights_.size()) / M_, ctx.intra_op_threads());
  dn::ThreadScope scope(threads);
  const bool in_place = reads_in_place(X, run);
  const auto p = plan(run.x, run, threads, input_type(X) == ElementType::kInt8, false, in_place);
  const uint8_t* buf = in_place ? X.data<uint8_t>() : padded_input(X, run, *p, threads);
  int32_t* nhwc = channels_last_ ? y : static_cast<int32_t*>(dn::thread_scratch(2, static_cast<size_t>(out_size) * 4));
  p->conv.run({buf, nhwc});
  if (!channels_last_) p->dst_reorder.run(nhwc, y, threads);
}

bool Int8PackedConv::accumulate_quantized(const KernelContext& ctx, const Tensor& X, const Run& run,
                                          const int32_t* offsets, void* y) const {
  namespace dn = dnnl_backend;
  if (!has_requantization()) return false;
  const int64_t out_size = shape_size(run.out);
  const int threads = dn::threads_for(out_size * static_cast<int64_t>(weights_.size()) / M_, ctx.intra_op_threads());
  dn::ThreadScope scope(threads);
  const bool in_place = reads_in_place(X, run);
  const auto p = plan(run.x, run, threads, input_type(X) == ElementType::kInt8, true, in_place);
  if (!p) return false;
  const uint8_t* buf = in_place ? X.data<uint8_t>() : padded_input(X, run, *p, threads);
  void* nhwc = channels_last_ ? y : dn::thread_scratch(2, static_cast<size_t>(out_size));
  p->conv.run({buf, offsets, nhwc});
  if (!channels_last_) p->dst_reorder.run(nhwc, y, threads);
  return true;
}

}  // namespace kestrel::cpu
