// The NCHW <-> NHWC copies behind the reference kernels of channels-last ops (`channels_last` = 1, made by
// the layout_nhwc rule): they run the NCHW computation on permuted copies.
#pragma once

#include <cstring>

#include "runtime/kernel.h"

namespace kestrel::cpu {

inline Shape permuted_shape(const Shape& s, bool to_nchw) {
  return to_nchw ? Shape{s[0], s[3], s[1], s[2]} : Shape{s[0], s[2], s[3], s[1]};
}

// Copies 4-D `x` into `out` (of the permuted shape and the same element type): NHWC -> NCHW when `to_nchw`,
// else NCHW -> NHWC.
inline void permute_4d(const Tensor& x, Tensor& out, bool to_nchw) {
  const Shape& s = x.shape();
  const int64_t N = s[0], C = to_nchw ? s[3] : s[1], H = to_nchw ? s[1] : s[2], W = to_nchw ? s[2] : s[3];
  const size_t elem = element_size(x.type());
  const auto* src = static_cast<const char*>(x.raw_data());
  auto* dst = static_cast<char*>(out.raw_data());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) {
          const int64_t nchw = ((n * C + c) * H + h) * W + w, nhwc = ((n * H + h) * W + w) * C + c;
          if (to_nchw)
            std::memcpy(dst + nchw * elem, src + nhwc * elem, elem);
          else
            std::memcpy(dst + nhwc * elem, src + nchw * elem, elem);
        }
}

}  // namespace kestrel::cpu
