// Fast ai.kestrel QLinearConvTranspose, channels-last, with constant weights: every input pixel owns its own
// kh x kw output block, so the whole op is one u8 x s8 matrix product X [N H W, C] x W' [C, kh kw M] (W' columns
// ordered (i, j, m), on the packed VNNI path of int8_mat_mul.h) whose row for pixel (n, h, w) holds, for each
// kernel row i, the kw M contiguous output bytes of Y [N, H kh, W kw, M] at (n, h kh + i, w kw): zero points
// removed, bias added and requantized straight into place, bit-identical to the reference kernel. Other cases
// keep the reference kernel.
#include <algorithm>
#include <cstring>
#include <optional>

#include "providers/cpu/dnnl/int8_mat_mul.h"
#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/fast/quantize_simd.h"
#include "providers/cpu/kernels/kestrel/q_linear_conv_transpose.h"

namespace kestrel::cpu {
namespace {

// n bytes; the short rows of few-channel outputs (a 2x2 upsampling to one channel writes 2) in one move.
inline void copy_row(uint8_t* to, const uint8_t* from, int64_t n) {
  switch (n) {
    case 2: std::memcpy(to, from, 2); return;
    case 4: std::memcpy(to, from, 4); return;
    case 8: std::memcpy(to, from, 8); return;
    default: std::memcpy(to, from, static_cast<size_t>(n));
  }
}

class DnnlQLinearConvTranspose final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (info.attr_int("channels_last", 0) == 0) return nullptr;
    const Tensor* w = info.constant_input(3);
    if (!w || w->rank() != 4 || w->size() == 0 || !is_byte_type(w->type())) return nullptr;
    // Scales, y's zero point and the bias as constants (as the rule writes them): the requantization is
    // prepared once. Anything else, and any operand the reference would refuse, keeps the reference kernel.
    const Tensor* xs = info.constant_input(1);
    const Tensor* xz = info.has_input(2) ? info.constant_input(2) : nullptr;
    const Tensor* ws = info.constant_input(4);
    const Tensor* ys = info.constant_input(6);
    const Tensor* yz = info.has_input(7) ? info.constant_input(7) : nullptr;
    const Tensor* wz = info.has_input(5) ? info.constant_input(5) : nullptr;
    const Tensor* B = info.has_input(8) ? info.constant_input(8) : nullptr;
    if (!xz || !is_byte_type(xz->type()) || xz->size() != 1 || (info.has_input(5) && !wz) ||
        (info.has_input(7) && !yz) || (info.has_input(8) && !B))
      return nullptr;
    const int64_t C = w->dim(0), M = w->dim(1), blocks = w->dim(2) * w->dim(3), K = blocks * M;
    const auto scalar_float = [](const Tensor* t) { return t && t->type() == ElementType::kFloat && t->size() == 1; };
    const auto per_channel = [&](const Tensor* t) { return t->size() == 1 || (t->rank() == 1 && t->dim(0) == M); };
    if (!scalar_float(xs) || !scalar_float(ys) || !ws || ws->type() != ElementType::kFloat || !per_channel(ws) ||
        (wz && (wz->type() != w->type() || !per_channel(wz))) || (yz && (!is_byte_type(yz->type()) || yz->size() != 1)) ||
        (B && (B->type() != ElementType::kInt32 || B->rank() != 1 || B->dim(0) != M)))
      return nullptr;
    // W [C, M, kh, kw] -> W' [C, (i, j, m)], and the zero point per column of W'.
    const size_t elem = element_size(w->type());
    Tensor packed(w->type(), {C, K});
    const auto* src = static_cast<const uint8_t*>(w->raw_data());
    auto* dst = static_cast<uint8_t*>(packed.raw_data());
    for (int64_t c = 0; c < C; ++c)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t b = 0; b < blocks; ++b)
          std::memcpy(dst + (c * K + b * M + m) * elem, src + ((c * M + m) * blocks + b) * elem, elem);
    std::optional<Tensor> column_zero;
    if (wz) {
      column_zero.emplace(w->type(), Shape{K});
      auto* z = static_cast<uint8_t*>(column_zero->raw_data());
      const auto* zs = static_cast<const uint8_t*>(wz->raw_data());
      for (int64_t k = 0; k < K; ++k) z[k] = zs[wz->size() == 1 ? 0 : k % M];
    }
    auto weights = Int8PackedWeights::from_constants(&packed, column_zero ? &*column_zero : nullptr);
    // Weights with a zero point (after the shift to s8) would need each pixel's input sum; the symmetric s8
    // weights quantizers write have none.
    if (!weights || weights->has_zero_points()) return nullptr;
    auto kernel = std::make_unique<DnnlQLinearConvTranspose>(info, std::move(weights));
    // Rows are multiplied and requantized about kChunk sums at a time: the column parameters tiled over them.
    kernel->M_ = M;
    kernel->kw_ = w->dim(3);
    kernel->kh_ = w->dim(2);
    kernel->chunk_rows_ = std::max<int64_t>(1, kChunk / K);
    kernel->x_type_ = xz->type();
    kernel->y_type_ = yz ? yz->type() : ElementType::kUInt8;
    // sum (x - x_zero_point) w = sum x' w - z' colsum(w), with x' and z' after the s8 -> u8 shift.
    const int32_t shifted_zero = xz->type() == ElementType::kInt8 ? *xz->data<int8_t>() + 128 : *xz->data<uint8_t>();
    kernel->y_zero_ = !yz ? 0.0f : yz->type() == ElementType::kUInt8 ? *yz->data<uint8_t>() : *yz->data<int8_t>();
    for (int64_t r = 0; r < kernel->chunk_rows_; ++r)
      for (int64_t k = 0; k < K; ++k) {
        const int64_t m = k % M;
        kernel->scales_.push_back(*xs->data<float>() * ws->data<float>()[ws->size() == 1 ? 0 : m] / *ys->data<float>());
        const int32_t bias = B ? B->data<int32_t>()[m] : 0;
        kernel->offsets_.push_back(static_cast<int32_t>(static_cast<uint32_t>(bias) -
                                                        static_cast<uint32_t>(shifted_zero * kernel->weights_->column_sum(k))));
      }
    return kernel;
  }

  DnnlQLinearConvTranspose(const KernelInfo& info, std::unique_ptr<Int8PackedWeights> weights)
      : reference_(fast::reference_kernel(info)), weights_(std::move(weights)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    Int8Activations a;
    // y's type follows its zero point, or X's when omitted (the reference handles that case).
    if (X.rank() != 4 || X.type() != x_type_ || (!ctx.optional_input(7) && X.type() != y_type_) ||
        !prepare_activations(X, ctx.optional_input(2), *weights_, a))
      return reference_->compute(ctx);
    const int64_t N = X.dim(0), H = X.dim(1), W = X.dim(2), K = weights_->N(), row = kw_ * M_;
    const int64_t Ho = H * kh_, Wo = W * kw_;
    const int64_t out[4] = {N, Ho, Wo, M_};
    Tensor& Y = ctx.allocate_uninitialized_output_dims(0, y_type_, out);  // every element written
    if (Y.size() == 0) return;
    auto* y = static_cast<uint8_t*>(Y.raw_data());
    const int64_t C = weights_->K(), chunks = (a.rows + chunk_rows_ - 1) / chunk_rows_;
    // Chunks of rows small enough for their int32 sums to stay in cache between the product and the
    // requantization; each thread multiplies its own chunks.
    parallel_ranges(chunks, ctx.intra_op_threads(), a.rows * K * C >= (int64_t{1} << 20), [&](int64_t begin, int64_t end) {
      auto* acc = static_cast<int32_t*>(dnnl_backend::thread_scratch(2, static_cast<size_t>(chunk_rows_ * K) * 4));
      auto* bytes = static_cast<uint8_t*>(dnnl_backend::thread_scratch(1, static_cast<size_t>(chunk_rows_ * K)));
      for (int64_t chunk = begin; chunk < end; ++chunk) {
        const int64_t r0 = chunk * chunk_rows_, rows = std::min(chunk_rows_, a.rows - r0);
        weights_->multiply(a.data + r0 * C, rows, acc, 1);  // the zero point's share is in offsets_
        if (y_type_ == ElementType::kUInt8)
          fast::requantize(acc, rows * K, offsets_.data(), scales_.data(), y_zero_, false, bytes);
        else
          fast::requantize(acc, rows * K, offsets_.data(), scales_.data(), y_zero_, false,
                           reinterpret_cast<int8_t*>(bytes));
        // Row r's kernel row i: kw * M contiguous output bytes at (n, h kh + i, w kw).
        int64_t n = r0 / (H * W), h = r0 / W % H, w = r0 % W;
        for (int64_t r = 0; r < rows; ++r) {
          uint8_t* to = y + ((n * Ho + h * kh_) * Wo + w * kw_) * M_;
          for (int64_t i = 0; i < kh_; ++i, to += Wo * M_) copy_row(to, bytes + r * K + i * row, row);
          if (++w == W) {
            w = 0;
            if (++h == H) h = 0, ++n;
          }
        }
      }
    });
  }

 private:
  static constexpr int64_t kChunk = 16384;  // int32 sums per chunk: 64 KB

  std::unique_ptr<Kernel> reference_;
  std::unique_ptr<Int8PackedWeights> weights_;
  int64_t M_ = 0, kh_ = 0, kw_ = 0, chunk_rows_ = 1;
  ElementType x_type_ = ElementType::kUInt8, y_type_ = ElementType::kUInt8;
  float y_zero_ = 0;
  std::vector<float> scales_;  // per column of W', tiled over chunk_rows_ rows
  std::vector<int32_t> offsets_;  // likewise: the bias minus the activation zero point's share
};

}  // namespace

KESTREL_FAST_KERNEL(QLinearConvTranspose, "ai.kestrel", 1, 1000, "uint8, int8", 10, &DnnlQLinearConvTranspose::create);

}  // namespace kestrel::cpu
