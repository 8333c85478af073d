// The convolution loops shared by Conv, ConvInteger, QLinearConv (forward) and ConvTranspose (backward-data):
// im2col / col2im over the canonical 3-D window plus the blocked matrix multiply. T is the arithmetic type
// (float, double, or int32 for the integer convolutions after zero points are subtracted).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "providers/cpu/kernels/onnx/matrix_multiply.h"
#include "providers/cpu/kernels/onnx/spatial_geometry.h"

namespace kestrel::cpu {

// Unrolls the windows of one group's input [Cg, D, H, W] into col [Cg * kd * kh * kw, out_size]; positions in
// the padding read as zero.
template <typename T>
void im2col(const T* x, int64_t Cg, const Window3& g, T* col) {
  const int64_t D = g.in[0], H = g.in[1], W = g.in[2];
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  const int64_t n_out = g.out_size();
  int64_t row = 0;
  for (int64_t c = 0; c < Cg; ++c) {
    for (int64_t a = 0; a < g.kernel[0]; ++a) {
      for (int64_t b = 0; b < g.kernel[1]; ++b) {
        for (int64_t e = 0; e < g.kernel[2]; ++e, ++row) {
          T* dst = col + row * n_out;
          for (int64_t od = 0; od < OD; ++od) {
            const int64_t id = od * g.stride[0] - g.pad_begin[0] + a * g.dilation[0];
            for (int64_t oh = 0; oh < OH; ++oh) {
              T* d = dst + (od * OH + oh) * OW;
              const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + b * g.dilation[1];
              if (id < 0 || id >= D || ih < 0 || ih >= H) {
                std::fill(d, d + OW, T{});
                continue;
              }
              const T* src = x + ((c * D + id) * H + ih) * W;
              const int64_t iw0 = e * g.dilation[2] - g.pad_begin[2];
              if (g.stride[2] == 1 && iw0 >= 0 && iw0 + OW <= W) {
                std::copy(src + iw0, src + iw0 + OW, d);
                continue;
              }
              for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t iw = iw0 + ow * g.stride[2];
                d[ow] = (iw >= 0 && iw < W) ? src[iw] : T{};
              }
            }
          }
        }
      }
    }
  }
}

// y[N, M, out] = bias[M] + sum over the group's channels and window of x * w. x is [N, C, in], w is
// [M, C / group, kernel], bias may be null. With threads > 1 the matrix multiply is split by rows, or, for
// grouped convolutions with few output channels per group (depthwise), whole (image, group) pairs go to
// threads.
template <typename T>
void conv_forward(const T* x, const T* w, const T* bias, T* y, int64_t N, int64_t C, int64_t M, int64_t group,
                  const Window3& g, int threads = 1) {
  const int64_t Cg = C / group, Mg = M / group, kprod = g.kernel_size(), K = Cg * kprod;
  const int64_t n_out = g.out_size(), in_sz = g.in_size();
  bool direct = kprod == 1;  // a 1x1 conv with unit stride and no padding needs no im2col
  for (int j = 0; j < 3; ++j)
    direct = direct && g.stride[j] == 1 && g.pad_begin[j] == 0 && g.pad_end[j] == 0 && g.in[j] == g.out[j];
  const size_t col_size = direct ? 0 : static_cast<size_t>(K * n_out);
  auto one = [&](int64_t n, int64_t grp, T* col, int gemm_threads) {
    const T* xg = x + (n * C + grp * Cg) * in_sz;
    T* yg = y + (n * M + grp * Mg) * n_out;
    for (int64_t m = 0; m < Mg; ++m)
      std::fill(yg + m * n_out, yg + (m + 1) * n_out, bias ? bias[grp * Mg + m] : T{});
    const T* b = xg;
    if (!direct) {
      im2col(xg, Cg, g, col);
      b = col;
    }
    gemm_accumulate<T>(Mg, n_out, K, w + grp * Mg * K, K, b, n_out, yg, n_out, gemm_threads);
  };
  const int64_t jobs = N * group;
  if (threads > 1 && jobs > 1 && Mg < 2 * gemm_detail::kRows && jobs * Mg * K * n_out >= (int64_t{1} << 24)) {
#pragma omp parallel num_threads(threads)
    {
      std::vector<T> col(col_size);
#pragma omp for schedule(static)
      for (int64_t job = 0; job < jobs; ++job) one(job / group, job % group, col.data(), 1);
    }
    return;
  }
  std::vector<T> col(col_size);
  for (int64_t job = 0; job < jobs; ++job) one(job / group, job % group, col.data(), threads);
}

// ConvTranspose: x is [N, C, in], w is [C, M / group, kernel], y is [N, M, out] where g.in is x's spatial
// size and g.out y's. Each input pixel scatters x * w into the output window it maps to (the adjoint of
// conv_forward).
template <typename T>
void conv_transpose_forward(const T* x, const T* w, const T* bias, T* y, int64_t N, int64_t C, int64_t M,
                            int64_t group, const Window3& g, int threads = 1) {
  const int64_t Cg = C / group, Mg = M / group, kprod = g.kernel_size(), K = Mg * kprod;
  const int64_t in_sz = g.in_size(), out_sz = g.out_size();
  const int64_t D = g.in[0], H = g.in[1], W = g.in[2];
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  std::vector<T> wt(static_cast<size_t>(K * Cg));
  std::vector<T> col(static_cast<size_t>(K * in_sz));
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t grp = 0; grp < group; ++grp) {
      const T* xg = x + (n * C + grp * Cg) * in_sz;
      T* yg = y + (n * M + grp * Mg) * out_sz;
      for (int64_t m = 0; m < Mg; ++m)
        std::fill(yg + m * out_sz, yg + (m + 1) * out_sz, bias ? bias[grp * Mg + m] : T{});
      transpose_matrix(w + grp * Cg * K, Cg, K, wt.data());
      std::fill(col.begin(), col.end(), T{});
      gemm_accumulate<T>(K, in_sz, Cg, wt.data(), Cg, xg, in_sz, col.data(), in_sz, threads);
      int64_t row = 0;
      for (int64_t m = 0; m < Mg; ++m) {
        T* ym = yg + m * out_sz;
        for (int64_t a = 0; a < g.kernel[0]; ++a) {
          for (int64_t b = 0; b < g.kernel[1]; ++b) {
            for (int64_t e = 0; e < g.kernel[2]; ++e, ++row) {
              const T* src = col.data() + row * in_sz;
              for (int64_t id = 0; id < D; ++id) {
                const int64_t od = id * g.stride[0] - g.pad_begin[0] + a * g.dilation[0];
                if (od < 0 || od >= OD) continue;
                for (int64_t ih = 0; ih < H; ++ih) {
                  const int64_t oh = ih * g.stride[1] - g.pad_begin[1] + b * g.dilation[1];
                  if (oh < 0 || oh >= OH) continue;
                  const T* s = src + (id * H + ih) * W;
                  T* d = ym + (od * OH + oh) * OW;
                  for (int64_t iw = 0; iw < W; ++iw) {
                    const int64_t ow = iw * g.stride[2] - g.pad_begin[2] + e * g.dilation[2];
                    if (ow >= 0 && ow < OW) d[ow] += s[iw];
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

// Shape checks common to the Conv family; returns the kernel spatial shape (W's spatial dims, a view of `w`).
template <typename Who>
std::span<const int64_t> check_conv_shapes(const Who& who, const WindowAttrs& a, std::span<const int64_t> x,
                                           std::span<const int64_t> w, int64_t group, bool transpose) {
  if (x.size() < 3)
    who.fail("input X must have rank >= 3 (N x C x spatial...), got shape " + shape_to_string(Shape(x.begin(), x.end())));
  if (w.size() != x.size())
    who.fail("weight W must have the same rank as X (" + std::to_string(x.size()) + "), got shape " +
             shape_to_string(Shape(w.begin(), w.end())));
  if (group <= 0) who.fail("group must be positive, got " + std::to_string(group));
  const int64_t C = x[1];
  if (!transpose) {
    if (C % group != 0 || w[1] * group != C)
      who.fail("input channels (" + std::to_string(C) + ") must equal W.shape[1] (" + std::to_string(w[1]) +
               ") * group (" + std::to_string(group) + ")");
    if (w[0] % group != 0)
      who.fail("output channels W.shape[0] (" + std::to_string(w[0]) + ") must be divisible by group (" +
               std::to_string(group) + ")");
  } else {
    if (w[0] != C)
      who.fail("input channels (" + std::to_string(C) + ") must equal W.shape[0] (" + std::to_string(w[0]) +
               ")");
    if (C % group != 0)
      who.fail("input channels (" + std::to_string(C) + ") must be divisible by group (" +
               std::to_string(group) + ")");
  }
  const std::span<const int64_t> k = w.subspan(2);
  if (!a.kernel_shape.empty() && !std::ranges::equal(a.kernel_shape, k))
    who.fail("kernel_shape " + shape_to_string(a.kernel_shape) +
             " does not match the weight's spatial shape " + shape_to_string(Shape(k.begin(), k.end())));
  return k;
}

}  // namespace kestrel::cpu
