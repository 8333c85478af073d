// Fast ai.kestrel QLinearConvTranspose, channels-last, with constant weights: every input pixel owns its own
// kh x kw output block, so kernel row i of the whole op is one u8 x s8 matrix product X [N H W, C] x W_i [C,
// kw M] (W_i[c, (j, m)] = W[c, m, i, j], on the packed VNNI path of int8_mat_mul.h). The product's rows for
// the W pixels of input row (n, h) are exactly output row (n, h kh + i) of Y [N, H kh, W kw, M], so each is
// requantized straight into place, the bias and the activation zero point's share added as per-column
// offsets: bit-identical to the reference kernel. Rows are taken some input rows at a time so that the int32
// sums stay in cache. Symmetric s8 weights only (a weight zero point would need each pixel's input sum);
// other cases keep the reference kernel. When each pixel has only a few outputs (kh kw M <= 16, as the last
// upsampling of ppocr_det to one channel: a product of 2 columns, on which oneDNN spends 20 us), the products
// are made here instead: several pixels' outputs in one vector, each lane a pixel and output column fed
// four channels at a time by one vpdpbusd (see NarrowOutputs).
#include "providers/cpu/kernels/kestrel/q_linear_conv_transpose.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "providers/cpu/dnnl/int8_mat_mul.h"
#include "providers/cpu/kernels/fast/byte_lookup.h"
#include "providers/cpu/kernels/fast/fast_common.h"
#include "providers/cpu/kernels/fast/quantize_simd.h"
#include "providers/cpu/kernels/fast/tail_mask.h"

namespace kestrel::cpu {
namespace {

#define KESTREL_NARROW_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi")))

// The products of a transposed convolution whose pixels have L = kh kw M outputs with L dividing 16 and C
// input channels with C a multiple of 4 and C <= 8 L: a vector holds P = 16 / L pixels' outputs, lane p L + t
// output column t (t = i kw M + j M + m, the order of `offsets`) of pixel p; the P pixels' inputs (P C <= 128
// bytes) are two loads, out of which one permutation per quad of channels picks each lane's four bytes for
// vpdpbusd. Four vectors (G = 64 / L pixels) are requantized as fast::requantize does and stored as kh runs
// of G kw M bytes, one per output row.
class NarrowOutputs {
 public:
  static bool fits(int64_t C, int64_t L) {
    return L > 0 && 16 % L == 0 && C > 0 && C % 4 == 0 && C <= 8 * L && fast::has_vbmi() &&
           int8_vnni_available();
  }
  // `w` [C, M, kh, kw] int8; per output column t: offsets[t] (L values) and scales[t % (kw M)].
  NarrowOutputs(const Tensor& w, const int32_t* offsets, const float* scales)
      : C_(w.dim(0)), M_(w.dim(1)), kh_(w.dim(2)), kw_(w.dim(3)), L_(M_ * kh_ * kw_), P_(16 / L_) {
    const int64_t quads = C_ / 4, row = kw_ * M_;
    weights_.assign(static_cast<size_t>(quads * 16), 0);
    gather_.assign(static_cast<size_t>(quads * 16), 0);
    for (int64_t q = 0; q < quads; ++q)
      for (int64_t lane = 0; lane < 16; ++lane) {
        const int64_t p = lane / L_, t = lane % L_, i = t / row, j = (t % row) / M_, m = t % M_;
        uint32_t quad = 0;
        for (int64_t k = 0; k < 4; ++k) {
          const int64_t at = (((q * 4 + k) * M_ + m) * kh_ + i) * kw_ + j;
          quad |= static_cast<uint32_t>(static_cast<uint8_t>(w.data<int8_t>()[at])) << (8 * k);
        }
        weights_[static_cast<size_t>(q * 16 + lane)] = static_cast<int32_t>(quad);
        gather_[static_cast<size_t>(q * 16 + lane)] = static_cast<int32_t>(p * quads + q);
      }
    for (int64_t lane = 0; lane < 16; ++lane) {
      offsets_[lane] = offsets[lane % L_];
      scales_[lane] = scales[lane % L_ % row];
    }
    // Byte o of the stored 64 (output row i, pixel p, column k of the row) is lane p L + i row + k of the
    // four vectors; after the packs, lane n of vector s sits at byte 16 (n / 4) + 4 s + n % 4.
    const int64_t G = 64 / L_;
    for (int64_t o = 0; o < 64; ++o) {
      const int64_t i = o / (G * row), p = (o % (G * row)) / row, k = o % row;
      const int64_t lane = p * L_ + i * row + k, s = lane / 16, n = lane % 16;
      order_[o] = static_cast<uint8_t>(16 * (n / 4) + 4 * s + n % 4);
    }
  }

  // Output rows (n, h kh + i) for input rows [r0, r1) of x [rows, W, C] (u8), into y [.., Ho, Wo, M].
  template <typename Q>
  KESTREL_NARROW_TARGET void run(const uint8_t* x, int64_t H, int64_t W, int64_t r0, int64_t r1, float zero,
                                 Q* y) const {
    const int64_t G = 64 / L_, row = kw_ * M_, chunk = G * row, out_row = W * row;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / H, h = r % H;
      const uint8_t* in = x + r * W * C_;
      Q* out = y + (n * H * kh_ + h * kh_) * out_row;
      for (int64_t w0 = 0; w0 < W; w0 += G) {
        const int64_t pixels = std::min(G, W - w0);
        alignas(64) uint8_t bytes[64];
        if (pixels == G) {
          group(in + w0 * C_, zero, bytes);
        } else {  // the last pixels, through a zero-padded copy
          alignas(64) uint8_t tail[64 * 8];
          std::memset(tail, 0, static_cast<size_t>(G * C_));
          std::memcpy(tail, in + w0 * C_, static_cast<size_t>(pixels * C_));
          group(tail, zero, bytes);
        }
        for (int64_t i = 0; i < kh_; ++i) {
          Q* to = out + i * out_row + w0 * row;
          if (pixels == G && chunk == 32)  // kh = 2 (a call to memcpy per run costs more than the run)
            std::memcpy(to, bytes + i * 32, 32);
          else if (pixels == G && chunk == 64)
            std::memcpy(to, bytes, 64);
          else
            std::memcpy(to, bytes + i * chunk, static_cast<size_t>(pixels * row));
        }
      }
    }
  }

  bool signed_output = false;

 private:
  // The 64 output bytes of G pixels starting at x, in the stored order.
  KESTREL_NARROW_TARGET void group(const uint8_t* x, float zero, uint8_t* bytes) const {
    const int64_t quads = C_ / 4, span = P_ * quads;  // dwords of one vector's pixels
    const __mmask16 lo_mask = fast::tail_mask(span);
    const __mmask16 hi_mask = span <= 16 ? 0 : fast::tail_mask(span - 16);
    const __m512i offsets = _mm512_loadu_si512(offsets_);
    const __m512 scales = _mm512_loadu_ps(scales_), vzero = _mm512_set1_ps(zero);
    const __m512 lo = _mm512_set1_ps(signed_output ? -128.0f : 0.0f);
    const __m512 hi = _mm512_set1_ps(signed_output ? 127.0f : 255.0f);
    constexpr int kNear = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    // Four independent sums, each quad's permutation indices and weights loaded once for the four.
    __m512i a[4], b[4], v[4];
#pragma GCC unroll 4
    for (int s = 0; s < 4; ++s) {
      const uint8_t* px = x + s * P_ * C_;
      a[s] = _mm512_maskz_loadu_epi32(lo_mask, px);
      b[s] = _mm512_maskz_loadu_epi32(hi_mask, px + 64);
      v[s] = offsets;
    }
    for (int64_t q = 0; q < quads; ++q) {
      const __m512i gather = _mm512_loadu_si512(&gather_[q * 16]),
                    weights = _mm512_loadu_si512(&weights_[q * 16]);
#pragma GCC unroll 4
      for (int s = 0; s < 4; ++s)
        v[s] = _mm512_dpbusd_epi32(v[s], _mm512_permutex2var_epi32(a[s], gather, b[s]), weights);
    }
#pragma GCC unroll 4
    for (int s = 0; s < 4; ++s) {
      // As fast::requantize: float(sum) * scale, + zero point, rounded, saturated (explicitly rounded
      // operations, which the compiler may not contract into one fused multiply-add).
      // (the maskz_ forms: GCC 12 warns about the plain ones' undefined source here)
      const __mmask16 all = 0xFFFF;
      __m512 f = _mm512_maskz_mul_round_ps(all, _mm512_maskz_cvtepi32_ps(all, v[s]), scales, kNear);
      f = _mm512_maskz_roundscale_ps(all, _mm512_maskz_add_round_ps(all, f, vzero, kNear), kNear);
      v[s] = _mm512_maskz_cvtps_epi32(all, _mm512_maskz_min_ps(all, _mm512_maskz_max_ps(all, f, lo), hi));
    }
    const __m512i ab = _mm512_packs_epi32(v[0], v[1]), cd = _mm512_packs_epi32(v[2], v[3]);
    const __m512i packed = signed_output ? _mm512_packs_epi16(ab, cd) : _mm512_packus_epi16(ab, cd);
    _mm512_store_si512(bytes,
                       _mm512_maskz_permutexvar_epi8(~__mmask64{0}, _mm512_loadu_si512(order_), packed));
  }

  int64_t C_, M_, kh_, kw_, L_, P_;
  std::vector<int32_t> weights_, gather_;  // [C / 4][16]: each lane's weight quad and input dword
  int32_t offsets_[16];
  float scales_[16];
  uint8_t order_[64];
};

class DnnlQLinearConvTranspose final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInfo& info) {
    if (info.attr_int("channels_last", 0) == 0) return nullptr;
    const Tensor* w = info.constant_input(3);
    if (!w || w->rank() != 4 || w->size() == 0 || !is_byte_type(w->type())) return nullptr;
    // Scales, zero points and the bias as constants (as the rule writes them): the requantization is prepared
    // once. Anything else, and any operand the reference would refuse, keeps the reference kernel.
    const Tensor* xs = info.constant_input(1);
    const Tensor* xz = info.has_input(2) ? info.constant_input(2) : nullptr;
    const Tensor* ws = info.constant_input(4);
    const Tensor* wz = info.has_input(5) ? info.constant_input(5) : nullptr;
    const Tensor* ys = info.constant_input(6);
    const Tensor* yz = info.has_input(7) ? info.constant_input(7) : nullptr;
    const Tensor* B = info.has_input(8) ? info.constant_input(8) : nullptr;
    if (!xz || (info.has_input(5) && !wz) || (info.has_input(7) && !yz) || (info.has_input(8) && !B))
      return nullptr;
    const int64_t C = w->dim(0), M = w->dim(1), kh = w->dim(2), kw = w->dim(3), row = kw * M;
    const auto scalar_float = [](const Tensor* t) {
      return t && t->type() == ElementType::kFloat && t->size() == 1;
    };
    const auto per_channel = [&](const Tensor* t) {
      return t->size() == 1 || (t->rank() == 1 && t->dim(0) == M);
    };
    if (!scalar_float(xs) || !scalar_float(ys) || !is_byte_type(xz->type()) || xz->size() != 1 || !ws ||
        ws->type() != ElementType::kFloat || !per_channel(ws) ||
        (wz && (wz->type() != w->type() || !per_channel(wz))) ||
        (yz && (!is_byte_type(yz->type()) || yz->size() != 1)) ||
        (B && (B->type() != ElementType::kInt32 || B->rank() != 1 || B->dim(0) != M)))
      return nullptr;
    auto kernel = std::make_unique<DnnlQLinearConvTranspose>(info);
    kernel->M_ = M;
    kernel->kh_ = kh;
    kernel->kw_ = kw;
    kernel->x_type_ = xz->type();
    kernel->y_type_ = yz ? yz->type() : ElementType::kUInt8;
    kernel->y_zero_ = !yz                                 ? 0.0f
                      : yz->type() == ElementType::kUInt8 ? *yz->data<uint8_t>()
                                                          : *yz->data<int8_t>();
    // sum (x - x_zero_point) w = sum x' w - z' colsum(w), with x' and z' after the s8 -> u8 shift.
    const int32_t shifted_zero =
        xz->type() == ElementType::kInt8 ? *xz->data<int8_t>() + 128 : *xz->data<uint8_t>();
    const size_t elem = element_size(w->type());
    const auto* src = static_cast<const uint8_t*>(w->raw_data());
    for (int64_t i = 0; i < kh; ++i) {
      Tensor packed(w->type(), {C, row});
      auto* dst = static_cast<uint8_t*>(packed.raw_data());
      for (int64_t c = 0; c < C; ++c)
        for (int64_t j = 0; j < kw; ++j)
          for (int64_t m = 0; m < M; ++m)
            std::memcpy(dst + (c * row + j * M + m) * elem, src + (((c * M + m) * kh + i) * kw + j) * elem,
                        elem);
      std::optional<Tensor> column_zero;
      if (wz) {
        column_zero.emplace(w->type(), Shape{row});
        auto* z = static_cast<uint8_t*>(column_zero->raw_data());
        const auto* zs = static_cast<const uint8_t*>(wz->raw_data());
        for (int64_t k = 0; k < row; ++k) z[k] = zs[wz->size() == 1 ? 0 : k % M];
      }
      auto weights = Int8PackedWeights::from_constants(&packed, column_zero ? &*column_zero : nullptr);
      if (!weights || weights->has_zero_points()) return nullptr;
      for (int64_t k = 0; k < row; ++k) {
        const int32_t bias = B ? B->data<int32_t>()[k % M] : 0;
        kernel->offsets_.push_back(static_cast<int32_t>(
            static_cast<uint32_t>(bias) - static_cast<uint32_t>(shifted_zero * weights->column_sum(k))));
      }
      kernel->weights_.push_back(std::move(weights));
    }
    for (int64_t k = 0; k < row; ++k)
      kernel->scales_.push_back(*xs->data<float>() * ws->data<float>()[ws->size() == 1 ? 0 : k % M] /
                                *ys->data<float>());
    if (w->type() == ElementType::kInt8 && NarrowOutputs::fits(C, kh * row)) {
      kernel->narrow_ = std::make_unique<NarrowOutputs>(*w, kernel->offsets_.data(), kernel->scales_.data());
      kernel->narrow_->signed_output = kernel->y_type_ == ElementType::kInt8;
    }
    return kernel;
  }

  explicit DnnlQLinearConvTranspose(const KernelInfo& info) : reference_(fast::reference_kernel(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    Int8Activations a;
    // y's type follows its zero point, or X's when omitted (the reference handles that case).
    if (X.rank() != 4 || X.type() != x_type_ || (!ctx.optional_input(7) && X.type() != y_type_) ||
        !prepare_activations(X, ctx.optional_input(2), *weights_[0], a))
      return reference_->compute(ctx);
    const int64_t N = X.dim(0), H = X.dim(1), W = X.dim(2), C = X.dim(3), row = kw_ * M_;
    const int64_t Ho = H * kh_, Wo = W * kw_, out_row = W * row;  // out_row: bytes of one output row
    const int64_t out[4] = {N, Ho, Wo, M_};
    Tensor& Y = ctx.allocate_uninitialized_output_dims(0, y_type_, out);  // every element written
    if (Y.size() == 0) return;
    // The per-column offsets (per kernel row) and scales repeated over one output row, shared by the threads
    // (slot 1: this kernel's weights have no zero point, so no row sums live there).
    auto* tiled =
        static_cast<int32_t*>(dnnl_backend::thread_scratch(1, static_cast<size_t>((kh_ + 1) * out_row) * 4));
    for (int64_t i = 0; i < kh_; ++i)
      for (int64_t w = 0; w < W; ++w)
        std::memcpy(tiled + i * out_row + w * row, offsets_.data() + i * row, static_cast<size_t>(row) * 4);
    auto* tiled_scales = reinterpret_cast<float*>(tiled + kh_ * out_row);
    for (int64_t w = 0; w < W; ++w)
      std::memcpy(tiled_scales + w * row, scales_.data(), static_cast<size_t>(row) * 4);
    auto* y = static_cast<uint8_t*>(Y.raw_data());
    if (narrow_) {
      parallel_ranges(N * H, ctx.intra_op_threads(), N * H * W * kh_ * row * C >= (int64_t{1} << 20),
                      [&](int64_t r0, int64_t r1) { narrow_->run(a.data, H, W, r0, r1, y_zero_, y); });
      return;
    }
    // At least two chunks per thread, so that the threads' shares stay even.
    const int64_t input_rows = N * H, threads = std::max(1, ctx.intra_op_threads());
    const int64_t rows_per_chunk =
        std::max<int64_t>(1, std::min(kChunk / out_row, (input_rows + 2 * threads - 1) / (2 * threads)));
    const int64_t chunks = (input_rows + rows_per_chunk - 1) / rows_per_chunk;
    parallel_ranges(chunks, ctx.intra_op_threads(), input_rows * W * row * kh_ * C >= (int64_t{1} << 20),
                    [&](int64_t begin, int64_t end) {
                      auto* acc = static_cast<int32_t*>(
                          dnnl_backend::thread_scratch(2, static_cast<size_t>(rows_per_chunk * out_row) * 4));
                      for (int64_t chunk = begin; chunk < end; ++chunk) {
                        const int64_t r0 = chunk * rows_per_chunk,
                                      rows = std::min(rows_per_chunk, input_rows - r0);
                        for (int64_t i = 0; i < kh_; ++i) {
                          weights_[static_cast<size_t>(i)]->multiply(a.data + r0 * W * C, rows * W, acc, 1);
                          for (int64_t r = 0; r < rows; ++r) {
                            const int64_t n = (r0 + r) / H, h = (r0 + r) % H;
                            uint8_t* to = y + (n * Ho + h * kh_ + i) * out_row;
                            if (y_type_ == ElementType::kUInt8)
                              fast::requantize(acc + r * out_row, out_row, tiled + i * out_row, tiled_scales,
                                               y_zero_, false, to);
                            else
                              fast::requantize(acc + r * out_row, out_row, tiled + i * out_row, tiled_scales,
                                               y_zero_, false, reinterpret_cast<int8_t*>(to));
                          }
                        }
                      }
                    });
  }

 private:
  // int32 sums per chunk (256 KB), in whole input rows: each product is one oneDNN call, whose fixed cost
  // dominated with 64 KB chunks (ppocr_det's upsamplings took 1.6-1.8x as long).
  static constexpr int64_t kChunk = 65536;

  std::unique_ptr<Kernel> reference_;
  std::vector<std::unique_ptr<Int8PackedWeights>> weights_;  // per kernel row i: W_i [C, kw M]
  int64_t M_ = 0, kh_ = 0, kw_ = 0;
  ElementType x_type_ = ElementType::kUInt8, y_type_ = ElementType::kUInt8;
  float y_zero_ = 0;
  std::vector<int32_t> offsets_;  // per kernel row and column (j, m): the bias minus the zero point's share
  std::vector<float> scales_;     // per column (j, m): x_scale * w_scale[m] / y_scale
  std::unique_ptr<NarrowOutputs> narrow_;  // when the pixels' outputs are few (see NarrowOutputs)
};

}  // namespace

KESTREL_FAST_KERNEL(QLinearConvTranspose, "ai.kestrel", 1, 1000, "uint8, int8", 10,
                    &DnnlQLinearConvTranspose::create);

}  // namespace kestrel::cpu
