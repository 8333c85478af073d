// Fast ai.kestrel InvertedResidual (v1, float) on oneDNN: the block's three convolutions run as a pipeline
// over a few output rows at a time, so that the expanded rows never leave the core's L2 cache. The output
// rows are split into one band per thread of the team (one parallel region per block, not one per
// convolution); a band runs its rows in chunks: it expands the input rows the chunk's depthwise window reads
// that the previous chunk has not (keeping the rows both read), runs the depthwise convolution of the chunk
// into a small buffer and the projection of that buffer into Y's rows. Only the rows where two bands meet are
// expanded twice (once by each), and no thread waits for another. An image whose expanded rows fit the team's
// caches is expanded whole instead, each thread its share of the rows into one buffer, and after one wait
// each band runs its depthwise and projection rows from it: with 7 or 14 rows, expanding the meeting rows
// twice would unbalance the bands. Every step is a one-thread oneDNN primitive made at session creation (all
// primitives are made outside parallel regions: oneDNN sizes a primitive's work split for the team it sees
// when it is made), with the activations as eltwise post-ops and the residual Z as the projection's sum
// post-op. At bf16 precision the two 1x1 convolutions run in bf16 as FusedConv's do (their rows converted by
// reorders), the depthwise one stays f32.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <map>

#include "providers/cpu/dnnl/conv_row_bands.h"
#include "providers/cpu/dnnl/dnnl_common.h"
#include "providers/cpu/dnnl/post_ops.h"
#include "providers/cpu/kernels/onnx/conv.h"

namespace kestrel::cpu {
namespace {

namespace dn = dnnl_backend;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// One of the block's convolutions: its packed weights, bias and post-ops.
struct BlockConv {
  dnnl::memory::dims weights_dims;
  std::unique_ptr<dn::PackedWeights> packed;
  Tensor bias;  // undefined without one
  FusedActivation act;
  dt type = dt::f32;  // of src and weights
};

// A few output rows of a band: the expansion of the input rows they need that the buffer does not hold yet,
// after the `kept_bytes` the previous chunk left at `kept_from` are moved to the buffer's start; the
// depthwise convolution of the buffer's rows into the chunk buffer, and the projection of that into Y's rows.
struct Chunk {
  dn::ConvBand expand, depthwise, project;
  bool expands = false;  // false when the kept rows are all the chunk reads
  size_t kept_from = 0, kept_bytes = 0;
};

// The chunks of each band (one band per thread of the team) in order, and the per-thread buffers they need.
// Or, when `shared_expand` is not empty, the team first expands the whole image into one buffer, each thread
// its own share of the input rows, waits, then runs each band's single chunk (depthwise and projection) from
// that buffer: no row is expanded twice, which for a small image (7 or 14 rows) would be a large part of a
// band's work.
struct InvertedResidualPlan {
  std::vector<std::vector<Chunk>> bands;
  std::vector<dn::ConvBand> shared_expand;  // per band: its share of the rows, into the shared buffer
  // The expanded rows of the largest chunk (or the whole image), rounded up to a cache line; the depthwise
  // rows of the largest chunk.
  size_t expanded_bytes = 0, chunk_bytes = 0;
  size_t x_image_bytes = 0, y_image_bytes = 0;
};

class DnnlInvertedResidual final : public Kernel {
 public:
  // Declines (nullptr) what it does not handle: non-float X, weights or biases that are not float
  // initializers of the shapes of a 1x1 expansion, a 2-D depthwise convolution and a 1x1 projection.
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    const TypeInfo& xt = info.input_type(0);
    if (xt.kind != TypeInfo::Kind::kTensor || xt.element_type != ElementType::kFloat) return nullptr;
    const Tensor* w1 = info.constant_input(1);
    const Tensor* w2 = info.constant_input(3);
    const Tensor* w3 = info.constant_input(5);
    auto float4 = [](const Tensor* w) {
      return w && w->type() == ElementType::kFloat && w->rank() == 4 && w->size() > 0;
    };
    if (!float4(w1) || !float4(w2) || !float4(w3)) return nullptr;
    const int64_t E = w1->dim(0);
    if (w1->dim(2) != 1 || w1->dim(3) != 1 || w2->dim(0) != E || w2->dim(1) != 1 || w3->dim(1) != E ||
        w3->dim(2) != 1 || w3->dim(3) != 1)
      return nullptr;
    for (int i : {2, 4, 6}) {
      if (!info.has_input(i)) continue;
      const Tensor* b = info.constant_input(i);
      const int64_t channels = i == 6 ? w3->dim(0) : E;
      if (!b || b->type() != ElementType::kFloat || b->rank() != 1 || b->dim(0) != channels) return nullptr;
    }
    return std::make_unique<DnnlInvertedResidual>(info);
  }

  explicit DnnlInvertedResidual(const KernelInfo& info) : attrs_(WindowAttrs::parse(info, false)) {
    const bool reduced = dn::compute_type(info.precision()) != dt::f32;
    for (int s = 0; s < 3; ++s) {
      const Tensor& w = *info.constant_input(1 + 2 * s);
      BlockConv& c = convs_[s];
      Shape wd = w.shape();
      if (s == 1) wd = {w.dim(0), 1, 1, w.dim(2), w.dim(3)};  // depthwise: groups of one channel
      c.weights_dims = dn::to_dims(wd);
      c.packed = std::make_unique<dn::PackedWeights>(
          dnnl::memory::desc(c.weights_dims, dt::f32, dn::plain_tag(wd.size())), w.raw_data());
      if (info.has_input(2 + 2 * s)) c.bias = *info.constant_input(2 + 2 * s);
      c.act = FusedActivation::parse(info, kActivationPrefix[s]);
      // As FusedConv: short reductions and the depthwise convolution stay f32 (see DnnlConv).
      if (reduced && s != 1 && w.dim(1) >= kMinReducedPrecisionLength)
        c.type = dn::compute_type(info.precision());
    }
    // The plan for the declared input shape is made now (packing the weights), as FusedConv does.
    const TypeInfo& xt = info.input_type(0);
    if (!xt.shape || xt.shape->size() != 4) return;
    for (const Dim& d : *xt.shape)
      if (!d.fixed()) return;
    try {
      const int64_t H = (*xt.shape)[1].value, W = (*xt.shape)[2].value, C = (*xt.shape)[3].value;
      if (C != convs_[0].weights_dims[1] || H * W == 0) return;
      const Window3 g = window(info, H, W);
      // The same team and key compute() uses for this shape (the session compiles its plan on its own team).
      const int team = team_for(H * W, g, omp_get_max_threads());
      const int64_t key[] = {H, W, team, info.has_input(7) ? 1 : 0};
      cache_.get(std::span<const int64_t>(key), [&] { return make_plan(H, W, g, team, info.has_input(7)); });
      bool released = true;
      for (BlockConv& c : convs_) released = c.packed->release_plain() && released;
      released_ = released;
    } catch (const std::exception&) {
      released_ = false;  // bad shapes are reported by compute(), against the actual input
    }
  }

  bool owns_constant_input(size_t i) const override { return released_ && (i == 1 || i == 3 || i == 5); }

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    const Tensor* Z = ctx.optional_input(7);
    if (X.type() != ElementType::kFloat || X.rank() != 4)
      ctx.fail("X must be a 4-D float tensor (NHWC), got " + std::string(element_type_name(X.type())) + " " +
               shape_to_string(X.shape()));
    const int64_t N = X.dim(0), H = X.dim(1), W = X.dim(2), C = X.dim(3);
    if (C != convs_[0].weights_dims[1])
      ctx.fail("X has " + std::to_string(C) + " channels, the expansion weights W1 expect " +
               std::to_string(convs_[0].weights_dims[1]));
    const Window3 g = window(ctx, H, W);
    const int64_t M = convs_[2].weights_dims[0];
    const int64_t ys[] = {N, g.out[1], g.out[2], M};
    if (Z &&
        (Z->type() != ElementType::kFloat || !std::ranges::equal(Z->shape(), std::span<const int64_t>(ys))))
      ctx.fail("residual Z must be float of the output's shape " + shape_to_string(Shape(ys, ys + 4)) +
               ", got " + shape_to_string(Z->shape()));
    Tensor& Y =
        ctx.allocate_uninitialized_output_dims(0, ElementType::kFloat, ys);  // every element is written
    if (Y.size() == 0) return;
    if (X.size() == 0) ctx.fail("X is empty but the output is not: " + shape_to_string(X.shape()));
    const int team = team_for(H * W, g, ctx.intra_op_threads());
    const int64_t key[] = {H, W, team, Z ? 1 : 0};
    const auto plan = cache_.get(std::span<const int64_t>(key), [&] { return make_plan(H, W, g, team, Z); });
    run(*plan, N, static_cast<const char*>(X.raw_data()), static_cast<char*>(Y.raw_data()),
        Z ? static_cast<const char*>(Z->raw_data()) : nullptr);
  }

 private:
  static constexpr const char* kActivationPrefix[3] = {"expand_", "depthwise_", ""};
  static constexpr int64_t kMinReducedPrecisionLength = 32;

  template <typename Who>
  Window3 window(const Who& who, int64_t H, int64_t W) const {
    const int64_t in[] = {H, W};
    const int64_t kernel[] = {convs_[1].weights_dims[3], convs_[1].weights_dims[4]};
    if (!attrs_.kernel_shape.empty() && !std::ranges::equal(attrs_.kernel_shape, kernel))
      who.fail("kernel_shape " + shape_to_string(attrs_.kernel_shape) +
               " does not match the depthwise weights");
    return resolve_window(who, attrs_, in, kernel);
  }

  // As many bands as threads worth forking for the block's multiply-adds.
  int team_for(int64_t pixels, const Window3& g, int threads) const {
    const int64_t E = convs_[0].weights_dims[0], C = convs_[0].weights_dims[1], M = convs_[2].weights_dims[0];
    const int64_t out = g.out[1] * g.out[2];
    return dn::threads_for(pixels * C * E + out * E * g.kernel_size() + out * E * M, threads);
  }

  // A one-thread primitive of convolution `c` from `src` to `dst` rows (logical NCHW dims, NHWC in memory),
  // with the reorders between those rows and the primitive's layouts.
  dn::ConvBand make_band(const BlockConv& c, const dnnl::memory::dims& src, const dnnl::memory::dims& dst,
                         const Window3& g, int64_t pad_top, int64_t pad_bottom, bool residual) const {
    const dnnl::memory::dims strides{g.stride[1], g.stride[2]}, dilates{g.dilation[1] - 1, g.dilation[2] - 1};
    const dnnl::memory::dims pad_l{pad_top, g.pad_begin[2]}, pad_r{pad_bottom, g.pad_end[2]};
    const dnnl::memory::desc b_md =
        c.bias.defined() ? dnnl::memory::desc({c.bias.dim(0)}, dt::f32, tag::a) : dnnl::memory::desc();
    dnnl::primitive_attr attr = dn::user_scratchpad_attr();
    dnnl::post_ops po;
    if (residual) po.append_sum(1.0f);
    dn::append_activation(po, c.act);
    attr.set_post_ops(po);
    const bool depthwise = c.weights_dims.size() == 5;
    const dnnl::memory::dims one{1, 1}, none{0, 0};
    // Channels-last rows read and written in place where oneDNN has a real kernel for them, else its choice;
    // a reduced-precision primitive that has only the reference kernel is made in f32 instead.
    std::optional<dnnl::convolution_forward::primitive_desc> chosen;
    for (dt type : {c.type, dt::f32}) {
      for (tag t : {tag::nhwc, tag::any}) {
        try {
          chosen.emplace(
              dnnl::convolution_forward::desc(
                  dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                  dnnl::memory::desc(src, type, t), dnnl::memory::desc(c.weights_dims, type, tag::any), b_md,
                  dnnl::memory::desc(dst, dt::f32, t), depthwise ? strides : one, depthwise ? dilates : none,
                  depthwise ? pad_l : none, depthwise ? pad_r : none),
              attr, dn::engine());
        } catch (const dnnl::error&) {
          continue;
        }
        if (!dn::is_reference_impl(chosen->impl_info_str())) break;
      }
      if (chosen && !dn::is_reference_impl(chosen->impl_info_str())) break;
    }
    if (!chosen) throw dnnl::error(dnnl_unimplemented, "no oneDNN convolution for this block");
    const auto& pd = *chosen;
    std::vector<std::pair<int, dnnl::memory>> bound{{DNNL_ARG_WEIGHTS, c.packed->get(pd.weights_desc())}};
    if (c.bias.defined())
      bound.emplace_back(DNNL_ARG_BIAS,
                         dnnl::memory(b_md, dn::engine(), const_cast<float*>(c.bias.data<float>())));
    dn::ConvBand band;
    band.conv =
        dn::Executable(dnnl::convolution_forward(pd), pd.scratchpad_desc(),
                       {{DNNL_ARG_SRC, pd.src_desc()}, {DNNL_ARG_DST, pd.dst_desc()}}, std::move(bound));
    band.src = dn::Reorder(dnnl::memory::desc(src, dt::f32, tag::nhwc), pd.src_desc());
    const dnnl::memory::desc dst_rows(dst, dt::f32, tag::nhwc);
    band.dst = dn::Reorder(pd.dst_desc(), dst_rows);
    if (residual) band.residual = dn::Reorder(dst_rows, pd.dst_desc());
    return band;
  }

  // The expanded rows a chunk should hold at most: half a core's L2 cache (1 MiB here), leaving room for the
  // weights and the chunk's depthwise rows. Smaller chunks cost more primitive calls: on mobilenet_v2 at one
  // thread, chunks of 256, 384, 512 and 768 KiB measured within noise of each other and of the unfused block.
  static constexpr size_t kChunkExpandedBytes = 512 * 1024;

  // One band per thread of `team` (or a single band when the rows do not split), each cut into chunks, or
  // each one chunk reading a shared expansion when the whole expanded image fits the team's caches
  // (kChunkExpandedBytes a thread).
  std::shared_ptr<const InvertedResidualPlan> make_plan(int64_t H, int64_t W, const Window3& g, int team,
                                                        bool residual) const {
    dn::ThreadScope one(1);  // each band runs on one thread
    const int64_t C = convs_[0].weights_dims[1], E = convs_[0].weights_dims[0], M = convs_[2].weights_dims[0];
    const int64_t OH = g.out[1], OW = g.out[2], stride = g.stride[1], pad = g.pad_begin[1];
    const int64_t span = (g.kernel[1] - 1) * g.dilation[1] + 1;  // rows one output row reads
    std::vector<dn::RowBand> rows;
    if (team > 1) rows = dn::split_rows(H, OH, g.kernel[1], stride, g.dilation[1], pad, team);
    if (rows.empty()) rows = dn::split_rows(H, OH, g.kernel[1], stride, g.dilation[1], pad, 1);
    if (rows.empty()) throw dnnl::error(dnnl_invalid_arguments, "the depthwise window reads padding only");
    // Output rows per chunk: as many as keep the expanded rows they read under kChunkExpandedBytes.
    const size_t row_bytes = static_cast<size_t>(W * E) * sizeof(float);
    const int64_t fit = std::max<int64_t>(span, static_cast<int64_t>(kChunkExpandedBytes / row_bytes));
    const int64_t chunk_rows = std::max<int64_t>(1, (fit - span) / stride + 1);
    // Primitives by shape: the chunks of a band mostly share them.
    std::map<std::vector<int64_t>, dn::ConvBand> made;
    auto band_for = [&](int step, const dnnl::memory::dims& src, const dnnl::memory::dims& dst, int64_t top,
                        int64_t bottom, bool sum) {
      std::vector<int64_t> key{step, src[1], src[2], dst[1], dst[2], top, bottom, sum};
      auto it = made.find(key);
      if (it == made.end())
        it = made.emplace(key, make_band(convs_[step], src, dst, g, top, bottom, sum)).first;
      return it->second;
    };
    auto plan = std::make_shared<InvertedResidualPlan>();
    const int64_t bands = static_cast<int64_t>(rows.size());
    if (bands > 1 && H >= bands && static_cast<size_t>(H) * row_bytes <= kChunkExpandedBytes * bands) {
      for (int64_t t = 0; t < bands; ++t) {
        const dn::RowBand& r = rows[static_cast<size_t>(t)];
        const int64_t h0 = H * t / bands, h1 = H * (t + 1) / bands;
        dn::ConvBand expand = band_for(0, {1, C, h1 - h0, W}, {1, E, h1 - h0, W}, 0, 0, false);
        expand.src_offset = static_cast<size_t>(h0 * W * C) * sizeof(float);
        expand.dst_offset = static_cast<size_t>(h0) * row_bytes;
        plan->shared_expand.push_back(std::move(expand));
        Chunk c;
        const int64_t out_rows = r.out_end - r.out_begin;
        c.depthwise = band_for(1, {1, E, r.in_end - r.in_begin, W}, {1, E, out_rows, OW}, r.pad_begin,
                               r.pad_end, false);
        c.depthwise.src_offset = static_cast<size_t>(r.in_begin) * row_bytes;
        c.project = band_for(2, {1, E, out_rows, OW}, {1, M, out_rows, OW}, 0, 0, residual);
        c.project.dst_offset = static_cast<size_t>(r.out_begin * OW * M) * sizeof(float);
        plan->bands.push_back({std::move(c)});
        plan->chunk_bytes =
            std::max(plan->chunk_bytes, static_cast<size_t>(out_rows * OW * E) * sizeof(float));
      }
      plan->chunk_bytes = (plan->chunk_bytes + 63) / 64 * 64;
      plan->expanded_bytes = (static_cast<size_t>(H) * row_bytes + 63) / 64 * 64;
      plan->x_image_bytes = static_cast<size_t>(H * W * C) * sizeof(float);
      plan->y_image_bytes = static_cast<size_t>(OH * OW * M) * sizeof(float);
      for (const auto& [key, band] : made) dn::reserve_concurrent_runs(band, static_cast<int>(bands));
      return plan;
    }
    int64_t most_rows = 0, most_out = 0;
    for (const dn::RowBand& band : rows) {
      std::vector<Chunk> chunks;
      int64_t held_begin = 0, held_end = 0;  // expanded input rows the buffer holds, from its start
      // As few chunks as hold at most chunk_rows each, their sizes at most one apart (14 rows in chunks of up
      // to 11: 7 and 7, not 11 and 3).
      const int64_t band_rows = band.out_end - band.out_begin;
      int64_t count = (band_rows + chunk_rows - 1) / chunk_rows;
      // A chunk whose window reads padding alone (pads wider than the window) cannot run by itself: the band
      // runs whole then (split_rows made each band read a real row).
      bool padding_only = false;
      for (int64_t k = 0; k < count; ++k) {
        const int64_t a = band.out_begin + band_rows * k / count,
                      b = band.out_begin + band_rows * (k + 1) / count;
        padding_only |= (b - 1) * stride - pad + span - 1 < 0 || a * stride - pad >= H;
      }
      if (padding_only) count = 1;
      for (int64_t k = 0; k < count; ++k) {
        const int64_t a = band.out_begin + band_rows * k / count,
                      b = band.out_begin + band_rows * (k + 1) / count;
        const int64_t first = a * stride - pad,
                      last = (b - 1) * stride - pad + span - 1;  // rows read, or padding
        const int64_t begin = std::max<int64_t>(first, 0), end = std::min(last + 1, H);
        Chunk c;
        const int64_t kept = held_end > begin && held_begin <= begin ? held_end - begin : 0;
        c.kept_from = static_cast<size_t>(begin - held_begin) * row_bytes;
        c.kept_bytes = static_cast<size_t>(kept) * row_bytes;
        if (begin + kept < end) {
          c.expands = true;
          c.expand = band_for(0, {1, C, end - begin - kept, W}, {1, E, end - begin - kept, W}, 0, 0, false);
          c.expand.src_offset = static_cast<size_t>((begin + kept) * W * C) * sizeof(float);
          c.expand.dst_offset = c.kept_bytes;
        }
        c.depthwise =
            band_for(1, {1, E, end - begin, W}, {1, E, b - a, OW}, begin - first, last + 1 - end, false);
        c.project = band_for(2, {1, E, b - a, OW}, {1, M, b - a, OW}, 0, 0, residual);
        c.project.dst_offset = static_cast<size_t>(a * OW * M) * sizeof(float);
        chunks.push_back(std::move(c));
        held_begin = begin;
        held_end = end;
        most_rows = std::max(most_rows, end - begin);
        most_out = std::max(most_out, b - a);
      }
      plan->bands.push_back(std::move(chunks));
    }
    plan->expanded_bytes = (static_cast<size_t>(most_rows) * row_bytes + 63) / 64 * 64;
    plan->chunk_bytes = static_cast<size_t>(most_out * OW * E) * sizeof(float);
    plan->x_image_bytes = static_cast<size_t>(H * W * C) * sizeof(float);
    plan->y_image_bytes = static_cast<size_t>(OH * OW * M) * sizeof(float);
    // The bands share primitives of the same shape and run at once.
    for (const auto& [key, band] : made) dn::reserve_concurrent_runs(band, static_cast<int>(bands));
    return plan;
  }

  static void run(const InvertedResidualPlan& plan, int64_t images, const char* x, char* y, const char* z) {
    const int64_t bands = static_cast<int64_t>(plan.bands.size()), items = images * bands;
    auto run_band = [&](int64_t i) {
      const std::vector<Chunk>& chunks = plan.bands[static_cast<size_t>(i % bands)];
      const int64_t n = i / bands;
      const char* xi = x + n * plan.x_image_bytes;
      char* yi = y + n * plan.y_image_bytes;
      const char* zi = z ? z + n * plan.y_image_bytes : nullptr;
      // This thread's expanded rows, then its chunk's depthwise rows.
      char* expanded = static_cast<char*>(dn::thread_scratch(2, plan.expanded_bytes + plan.chunk_bytes));
      char* depthwise = expanded + plan.expanded_bytes;
      for (const Chunk& c : chunks) {
        if (c.kept_bytes > 0 && c.kept_from > 0) std::memmove(expanded, expanded + c.kept_from, c.kept_bytes);
        if (c.expands) dn::run_band(c.expand, xi, expanded, nullptr);
        dn::run_band(c.depthwise, expanded, depthwise, nullptr);
        dn::run_band(c.project, depthwise, yi, zi);
      }
    };
    if (!plan.shared_expand.empty()) {
      run_shared(plan, images, x, y, z);
      return;
    }
    if (bands == 1) {
      dn::ThreadScope one(1);
      for (int64_t i = 0; i < items; ++i) run_band(i);
      return;
    }
    std::exception_ptr error;
    const int team = static_cast<int>(bands);
#pragma omp parallel for num_threads(team) schedule(static)
    for (int64_t i = 0; i < items; ++i) {
      try {
        dn::ThreadScope one(1);  // whatever oneDNN runs in here stays on this thread
        run_band(i);
      } catch (...) {
#pragma omp critical(kestrel_inverted_residual_error)
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
  }

  // The shared expansion (see InvertedResidualPlan): the calling thread's scratch holds the expanded image,
  // then each band's depthwise rows, for the whole team.
  static void run_shared(const InvertedResidualPlan& plan, int64_t images, const char* x, char* y,
                         const char* z) {
    const int bands = static_cast<int>(plan.bands.size());
    char* expanded =
        static_cast<char*>(dn::thread_scratch(2, plan.expanded_bytes + bands * plan.chunk_bytes));
    std::exception_ptr error;
    auto guarded = [&](auto&& step) {
      try {
        step();
      } catch (...) {
#pragma omp critical(kestrel_inverted_residual_error)
        if (!error) error = std::current_exception();
      }
    };
#pragma omp parallel num_threads(bands)
    {
      dn::ThreadScope one(1);  // whatever oneDNN runs in here stays on this thread
      const int thread = omp_get_thread_num(), threads = omp_get_num_threads();
      for (int64_t n = 0; n < images; ++n) {
        const char* xi = x + n * plan.x_image_bytes;
        char* yi = y + n * plan.y_image_bytes;
        const char* zi = z ? z + n * plan.y_image_bytes : nullptr;
        for (int b = thread; b < bands; b += threads)
          guarded([&] { dn::run_band(plan.shared_expand[b], xi, expanded, nullptr); });
#pragma omp barrier
        // (the depthwise windows read rows the neighbouring bands expanded)
        for (int b = thread; b < bands; b += threads)
          guarded([&] {
            const Chunk& c = plan.bands[b][0];
            char* depthwise = expanded + plan.expanded_bytes + b * plan.chunk_bytes;
            dn::run_band(c.depthwise, expanded, depthwise, nullptr);
            dn::run_band(c.project, depthwise, yi, zi);
          });
#pragma omp barrier
        // (the next image's expansion overwrites the rows)
      }
    }
    if (error) std::rethrow_exception(error);
  }

  WindowAttrs attrs_;
  BlockConv convs_[3];     // expansion, depthwise, projection
  bool released_ = false;  // the packed weights are all compute() reads
  mutable dn::PrimitiveCache<Shape, InvertedResidualPlan, dn::DimsLess> cache_;
};

}  // namespace

KESTREL_FAST_KERNEL(InvertedResidual, "ai.kestrel", 1, 1000, "float", 10, &DnnlInvertedResidual::create);

}  // namespace kestrel::cpu
