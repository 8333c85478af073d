// The packed-B GEMM of packed_gemm.h: packing, the AVX-512 register tile and the loops and threads around it.
#include "providers/cpu/kernels/fast/packed_gemm.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "providers/cpu/kernels/fast/fast_common.h"
#include "runtime/huge_pages.h"
#include "runtime/packed_weight_memory.h"

namespace kestrel::cpu::fast {
namespace {

constexpr int64_t kPanel = PackedGemmWeights::kPanelColumns;
constexpr int kTileRows = 8;  // 8 rows x 3 vectors: 24 accumulators, 3 B vectors and 1 broadcast of 32 zmm
constexpr int64_t kBlockK = 256;  // a K-block of a full panel is 48 KB: it stays in L1/L2 for all row blocks
// Below this many multiply-adds one thread does the whole product: a fork and join costs more.
constexpr int64_t kParallelWork = int64_t{1} << 20;

// Where one call of the tile starts its accumulators.
enum class Start { kZero, kBias, kLoadC };

struct TileJob {
  int64_t kc;      // K-block length
  const float* a;  // A at the tile's first row and the block's first k
  int64_t lda;
  const float* b;  // the panel at the block's first k (row stride 16 * NV)
  float* c;        // C at the tile's first row and the panel's first column
  int64_t ldc;
  const float* bias;    // the bias at the panel's first column (Start::kBias)
  __mmask16 last_mask;  // valid columns of the panel's last vector
  Start start;
  bool finish;  // last K-block: apply the activation before storing
  GemmActivation act;
  const char* prefetch;  // lines of the next K-block to bring into L2 while this tile runs
  int64_t prefetch_lines;
};

// The lanes of vector v of a panel nv vectors wide that hold columns of C.
inline __mmask16 lanes(int v, int nv, __mmask16 last_mask) { return v == nv - 1 ? last_mask : 0xffff; }

__attribute__((target("avx512f,fma"), always_inline)) inline __m512 activate(__m512 x, GemmActivation act) {
  switch (act) {
    case GemmActivation::kNone:
      return x;
    case GemmActivation::kRelu:
      return _mm512_max_ps(x, _mm512_setzero_ps());
    case GemmActivation::kGelu: {
      Vec16 v = reinterpret_cast<Vec16&>(x);
      gelu_erf16(v);
      return reinterpret_cast<__m512&>(v);
    }
    case GemmActivation::kGeluTanh: {
      Vec16 v = reinterpret_cast<Vec16&>(x);
      gelu_tanh16(v);
      return reinterpret_cast<__m512&>(v);
    }
  }
  return x;
}

// One k: acc[r][v] += a[r lda] * b[16 v ..]. B's vectors loaded once and used R times, A's elements broadcast
// once and used NV times.
template <int R, int NV>
__attribute__((target("avx512f,fma"), always_inline)) inline void multiply_add(__m512 (&acc)[R][NV],
                                                                               const float* a, int64_t lda,
                                                                               const float* b) {
  __m512 bv[NV];
#pragma GCC unroll 3
  for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    const __m512 av = _mm512_set1_ps(a[r * lda]);
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
  }
}

// C[R, 16 NV] (+)= A[R, kc] · B[kc, 16 NV], starting from zero, the bias or C, and activated on the last
// K-block. Columns past the panel's valid ones are neither read nor written (masked).
template <int R, int NV>
__attribute__((target("avx512f,fma"), always_inline)) inline void tile(const TileJob& j) {
  __m512 acc[R][NV];
  if (j.start == Start::kLoadC) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v)
        acc[r][v] = _mm512_maskz_loadu_ps(lanes(v, NV, j.last_mask), j.c + r * j.ldc + 16 * v);
  } else {
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) {
      const __m512 init = j.start == Start::kBias
                              ? _mm512_maskz_loadu_ps(lanes(v, NV, j.last_mask), j.bias + 16 * v)
                              : _mm512_setzero_ps();
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[r][v] = init;
    }
  }
  const float* a = j.a;
  const float* b = j.b;
  const char* prefetch = j.prefetch;
  int64_t prefetch_lines = j.prefetch_lines;
  int64_t k = 0;
  // Four k per trip, with one prefetch of the next block per trip while there are lines left.
  for (; k + 4 <= j.kc; k += 4) {
    if (prefetch_lines > 0) {
      _mm_prefetch(prefetch, _MM_HINT_T1);
      prefetch += 64;
      --prefetch_lines;
    }
    multiply_add<R, NV>(acc, a + k, j.lda, b + k * 16 * NV);
    multiply_add<R, NV>(acc, a + k + 1, j.lda, b + (k + 1) * 16 * NV);
    multiply_add<R, NV>(acc, a + k + 2, j.lda, b + (k + 2) * 16 * NV);
    multiply_add<R, NV>(acc, a + k + 3, j.lda, b + (k + 3) * 16 * NV);
  }
  for (; k < j.kc; ++k) multiply_add<R, NV>(acc, a + k, j.lda, b + k * 16 * NV);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) {
      const __m512 y = j.finish ? activate(acc[r][v], j.act) : acc[r][v];
      _mm512_mask_storeu_ps(j.c + r * j.ldc + 16 * v, lanes(v, NV, j.last_mask), y);
    }
}

template <int NV>
__attribute__((target("avx512f,fma"))) void tile_rows(int rows, const TileJob& j) {
  switch (rows) {
    case 8:
      return tile<8, NV>(j);
    case 7:
      return tile<7, NV>(j);
    case 6:
      return tile<6, NV>(j);
    case 5:
      return tile<5, NV>(j);
    case 4:
      return tile<4, NV>(j);
    case 3:
      return tile<3, NV>(j);
    case 2:
      return tile<2, NV>(j);
    default:
      return tile<1, NV>(j);
  }
}

// Rows [m0, m1) times panels [p0, p1): per panel, K-block by K-block, every row block of 8 over the block.
__attribute__((target("avx512f,fma"))) void gemm_part(int64_t m0, int64_t m1, int64_t p0, int64_t p1,
                                                      const float* A, const PackedGemmWeights& B,
                                                      const float* bias, GemmActivation act, float* C) {
  const int64_t K = B.K(), N = B.N();
  const int64_t k_blocks = std::max<int64_t>(1, (K + kBlockK - 1) / kBlockK);
  const int64_t row_blocks = (m1 - m0 + kTileRows - 1) / kTileRows;
  for (int64_t p = p0; p < p1; ++p) {
    const int nv = B.vectors(p);
    const int64_t width = 16 * nv, col = p * kPanel;
    const int64_t valid = std::min<int64_t>(N - col, width) - 16 * (nv - 1);
    const __mmask16 last_mask = static_cast<__mmask16>((1u << valid) - 1u);
    for (int64_t kb = 0; kb < k_blocks; ++kb) {
      const int64_t k0 = kb * kBlockK, kc = std::min(kBlockK, K - k0);
      TileJob j;
      j.kc = kc;
      j.lda = K;
      j.b = B.panel(p) + k0 * width;
      j.ldc = N;
      j.bias = bias ? bias + col : nullptr;
      j.last_mask = last_mask;
      j.start = kb > 0 ? Start::kLoadC : bias ? Start::kBias : Start::kZero;
      j.finish = kb == k_blocks - 1;
      j.act = act;
      // The next block (this panel's next K-block, else the next panel's first) follows this one in memory:
      // each row block prefetches its share of it.
      const int64_t next_bytes = kb + 1 < k_blocks ? std::min(kBlockK, K - k0 - kc) * width * 4
                                 : p + 1 < p1      ? std::min(kBlockK, K) * 16 * B.vectors(p + 1) * 4
                                                   : 0;
      const int64_t next_lines = next_bytes / 64;
      const int64_t lines_per_block = (next_lines + row_blocks - 1) / row_blocks;
      const char* next = reinterpret_cast<const char*>(j.b + kc * width);
      int64_t block = 0;
      for (int64_t m = m0; m < m1; m += kTileRows, ++block) {
        const int rows = static_cast<int>(std::min<int64_t>(kTileRows, m1 - m));
        j.a = A + m * K + k0;
        j.c = C + m * N + col;
        const int64_t first_line = std::min(next_lines, block * lines_per_block);
        j.prefetch = next + first_line * 64;
        j.prefetch_lines = std::min(next_lines - first_line, lines_per_block);
        if (nv == 3)
          tile_rows<3>(rows, j);
        else if (nv == 2)
          tile_rows<2>(rows, j);
        else
          tile_rows<1>(rows, j);
      }
    }
  }
}

}  // namespace

bool packed_gemm_supported() {
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return supported;
}

PackedGemmWeights::PackedGemmWeights(const void* b, int64_t K, int64_t N, bool transposed, float alpha)
    : K_(K), N_(N) {
  const int64_t last = panels() - 1;
  const size_t floats = static_cast<size_t>(std::max<int64_t>(1, K * (last * kPanel + 16 * vectors(last))));
  // On transparent huge pages (packed_weight_memory.h): every run streams all of the weights, and with 4 KiB
  // pages that is a TLB miss every 4 KiB (a few percent of a BERT run).
  const size_t bytes = floats * sizeof(float);
  storage_ = runtime::allocate_packed_weights(bytes);
  data_ = static_cast<float*>(storage_.get());
  const auto* bytes_in = static_cast<const unsigned char*>(b);
  // Large weights are packed by the calling thread's OpenMP team (the session's, at creation), panels split
  // between threads: most of the time goes into faulting in and clearing the packed copy's fresh pages, which
  // threads do side by side.
  const int threads =
      bytes >= runtime::kHugePageBytes ? std::min<int>(omp_get_max_threads(), static_cast<int>(last + 1)) : 1;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int64_t p = 0; p <= last; ++p) {
    const int64_t width = 16 * vectors(p), col = p * kPanel, cols = std::min(width, N - col);
    float* dst = data_ + p * K * kPanel;
    // Two loops rather than a choice per element, so that the usual (untransposed) copy vectorises: a row's
    // piece is copied first (unaligned loads), then scaled in place.
    for (int64_t k = 0; k < K; ++k, dst += width) {
      if (transposed) {
        for (int64_t n = 0; n < cols; ++n) {
          float v;
          std::memcpy(&v, bytes_in + ((col + n) * K + k) * sizeof(float), sizeof(float));
          dst[n] = alpha * v;
        }
      } else {
        std::memcpy(dst, bytes_in + (k * N + col) * sizeof(float), static_cast<size_t>(cols) * sizeof(float));
        if (alpha != 1.0f)
          for (int64_t n = 0; n < cols; ++n) dst[n] *= alpha;
      }
      std::fill(dst + cols, dst + width, 0.0f);
    }
  }
}

int PackedGemmWeights::vectors(int64_t p) const {
  const int64_t cols = std::min(kPanel, N_ - p * kPanel);
  return static_cast<int>((cols + 15) / 16);
}

void packed_gemm(int64_t M, const float* A, const PackedGemmWeights& B, const float* bias, GemmActivation act,
                 float* C, int threads) {
  const int64_t panels = B.panels();
  if (M <= 0 || panels <= 0) return;
  if (threads <= 1 || M * B.N() * std::max<int64_t>(1, B.K()) < kParallelWork)
    return gemm_part(0, M, 0, panels, A, B, bias, act, C);
  // Split the panels when they divide evenly (each thread then streams only its part of B), else the rows
  // (in whole tiles), whichever leaves the busiest thread less to do.
  const int64_t vectors = (B.N() + 15) / 16;
  const int64_t panels_per = (panels + threads - 1) / threads;
  const int64_t row_tiles_per = ((M + kTileRows - 1) / kTileRows + threads - 1) / threads;
  const int64_t panel_cost = std::min(vectors, panels_per * 3) * M;
  const int64_t row_cost = std::min(M, row_tiles_per * kTileRows) * vectors;
  const bool split_panels = panel_cost <= row_cost;
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num();
    if (split_panels) {
      const int64_t p0 = std::min(panels, t * panels_per), p1 = std::min(panels, p0 + panels_per);
      if (p0 < p1) gemm_part(0, M, p0, p1, A, B, bias, act, C);
    } else {
      const int64_t rows = row_tiles_per * kTileRows;
      const int64_t m0 = std::min(M, t * rows), m1 = std::min(M, m0 + rows);
      if (m0 < m1) gemm_part(m0, m1, 0, panels, A, B, bias, act, C);
    }
  }
}

}  // namespace kestrel::cpu::fast
