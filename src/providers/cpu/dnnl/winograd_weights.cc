// F(4x4, 3x3) Winograd weights made from plain float weights (see winograd_weights.h).
#include "providers/cpu/dnnl/winograd_weights.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace kestrel::cpu::dnnl_backend {
namespace {

constexpr int kR = 3;      // kernel size
constexpr int kAlpha = 6;  // tile size of F(4x4, 3x3): 4 + 3 - 1
constexpr int kMaxBlock = 64;

// The transform U = G g G^T of a 3x3 kernel g into the 6x6 Winograd domain, with oneDNN's interpolation
// points and scaling (its kernels expect exactly these values).
constexpr float kG[kAlpha][kR] = {{1.13777777777778f, 0.f, 0.f},
                                  {-0.688403361344538f, -0.430252100840336f, -0.26890756302521f},
                                  {-0.688403361344538f, 0.430252100840336f, -0.26890756302521f},
                                  {0.119514472455649f, 0.179271708683473f, 0.26890756302521f},
                                  {0.119514472455649f, -0.179271708683473f, 0.26890756302521f},
                                  {0.f, 0.f, 1.f}};

// U for `n` output channels side by side (index o innermost, so the loops vectorise): g[k][o] is tap k of
// output channel o's kernel, u[a][o] element a (row-major 6x6) of its transform.
void transform(const float (*g)[kMaxBlock], float (*u)[kMaxBlock], int n) {
  float rows[kR][kAlpha][kMaxBlock];  // g G^T: kernel row h, column j
  for (int h = 0; h < kR; ++h)
    for (int j = 0; j < kAlpha; ++j)
      for (int o = 0; o < n; ++o)
        rows[h][j][o] = g[h * kR][o] * kG[j][0] + g[h * kR + 1][o] * kG[j][1] + g[h * kR + 2][o] * kG[j][2];
  for (int i = 0; i < kAlpha; ++i)
    for (int j = 0; j < kAlpha; ++j)
      for (int o = 0; o < n; ++o)
        u[i * kAlpha + j][o] = kG[i][0] * rows[0][j][o] + kG[i][1] * rows[1][j][o] + kG[i][2] * rows[2][j][o];
}

}  // namespace

bool makes_winograd_weights(const dnnl::memory::desc& plain, const dnnl::memory::desc& want) {
  const dnnl_memory_desc_t& w = want.data;
  if (w.format_kind != dnnl_format_kind_wino || w.data_type != dnnl_f32 || plain.data.ndims != 4)
    return false;
  const dnnl_wino_desc_t& d = w.format_desc.wino_desc;
  const dnnl::memory::dims dims = plain.dims();
  if (d.wino_format != dnnl_wino_wei_OBaaIBOIio || d.r != kR || d.alpha != kAlpha || dims[2] != kR ||
      dims[3] != kR ||
      plain != dnnl::memory::desc(dims, dnnl::memory::data_type::f32, dnnl::memory::format_tag::oihw))
    return false;
  if (d.oc_block < 1 || d.oc_block > kMaxBlock || d.ic_block < 1 || d.ic2_block < 1 || d.oc2_block < 1 ||
      d.oc < dims[0] || d.ic < dims[1] || d.oc % (d.oc_block * d.oc2_block) != 0 ||
      d.ic % (d.ic_block * d.ic2_block) != 0)
    return false;
  return d.size >= static_cast<size_t>(kAlpha) * kAlpha * d.oc * d.ic * sizeof(float);
}

void make_winograd_weights(const dnnl::memory::desc& plain, const void* data, const dnnl::memory::desc& want,
                           void* dst, int threads) {
  const dnnl_wino_desc_t& d = want.data.format_desc.wino_desc;
  const dnnl::memory::dims dims = plain.dims();
  const int64_t O = dims[0], I = dims[1];
  const int64_t ic_chunks = d.ic / (d.ic_block * d.ic2_block);
  const int64_t oc_blocks = d.oc / d.oc_block;
  const char* src = static_cast<const char*>(data);
  float* out = static_cast<float*>(dst);
  // Output channel block b (of oc_block channels) is block ob of chunk occ; input channel c is channel i of
  // block ib of chunk icc. Its value at (a / 6, a % 6) lives at
  // ((((((occ * 6 + a / 6) * 6 + a % 6) * ic_chunks + icc) * oc2 + ob) * ic2 + ib) * ic_block + i) *
  // oc_block.
#pragma omp parallel for num_threads(std::max(1, threads)) schedule(static) if (threads > 1 && oc_blocks > 1)
  for (int64_t b = 0; b < oc_blocks; ++b) {
    const int64_t occ = b / d.oc2_block, ob = b % d.oc2_block;
    const int64_t o0 = b * d.oc_block, n = std::clamp<int64_t>(O - o0, 0, d.oc_block);
    float g[kR * kR][kMaxBlock], u[kAlpha * kAlpha][kMaxBlock];
    for (int64_t c = 0; c < d.ic; ++c) {
      const int64_t icc = c / (d.ic_block * d.ic2_block), ib = c / d.ic_block % d.ic2_block,
                    i = c % d.ic_block;
      if (c < I) {
        for (int64_t o = 0; o < n; ++o) {
          float taps[kR * kR];
          std::memcpy(taps, src + static_cast<size_t>(((o0 + o) * I + c) * kR * kR) * sizeof(float),
                      sizeof(taps));
          for (int k = 0; k < kR * kR; ++k) g[k][o] = taps[k];
        }
        transform(g, u, static_cast<int>(n));
      } else {
        for (auto& row : u) std::fill_n(row, n, 0.0f);
      }
      for (int a = 0; a < kAlpha * kAlpha; ++a) {
        const int64_t at =
            ((((((occ * kAlpha + a / kAlpha) * kAlpha + a % kAlpha) * ic_chunks + icc) * d.oc2_block + ob) *
                  d.ic2_block +
              ib) *
                 d.ic_block +
             i) *
            d.oc_block;
        std::copy_n(u[a], n, out + at);
        std::fill(out + at + n, out + at + d.oc_block, 0.0f);  // padding output channels
      }
    }
  }
}

}  // namespace kestrel::cpu::dnnl_backend
