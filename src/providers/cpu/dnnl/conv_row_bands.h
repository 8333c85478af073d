// A 2-D channels-last convolution split by output rows into bands, each run by one thread as its own
// one-thread oneDNN primitive inside one OpenMP region. In NHWC a band of rows is a dense tensor at an
// offset, so a band reads its input rows (its own and the halo the kernel window reaches) and writes its
// output rows in place; the top band keeps the top padding, the bottom band the bottom padding, the others
// read real rows instead. This lets a team run a kernel that does not scale over threads by itself:
// oneDNN 2.6's Winograd convolution at batch 1 opens three parallel regions per block of tiles, each a
// barrier for the team, and is left to one thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "providers/cpu/dnnl/dnnl_common.h"

namespace kestrel::cpu::dnnl_backend {

// The rows of one band, for one spatial dim of a forward window: output rows [out_begin, out_end) read input
// rows [in_begin, in_end) with pad_begin / pad_end rows of padding around them (the bottom band's pad_end is
// less than the convolution's when its window never reaches the last padding rows).
struct RowBand {
  int64_t out_begin = 0, out_end = 0, in_begin = 0, in_end = 0, pad_begin = 0, pad_end = 0;
};

// `out_rows` output rows split into `bands` bands whose sizes differ by at most one, for an input of
// `in_rows` rows, a window of `kernel` taps `dilation` apart, `stride` and `pad_begin`. Empty when a band
// would read no input row (it would lie wholly in the padding) or there are fewer rows than bands.
inline std::vector<RowBand> split_rows(int64_t in_rows, int64_t out_rows, int64_t kernel, int64_t stride,
                                       int64_t dilation, int64_t pad_begin, int64_t bands) {
  std::vector<RowBand> split;
  if (bands < 1 || out_rows < bands) return split;
  for (int64_t b = 0; b < bands; ++b) {
    RowBand r;
    r.out_begin = out_rows * b / bands;
    r.out_end = out_rows * (b + 1) / bands;
    const int64_t first = r.out_begin * stride - pad_begin;  // first row the band reads
    const int64_t last = (r.out_end - 1) * stride - pad_begin + (kernel - 1) * dilation;  // and the last
    r.in_begin = std::max<int64_t>(first, 0);
    r.in_end = std::min<int64_t>(last + 1, in_rows);
    if (r.in_begin >= r.in_end) return {};
    r.pad_begin = r.in_begin - first;
    r.pad_end = last + 1 - r.in_end;
    split.push_back(r);
  }
  return split;
}

// One band's primitive and the reorders between the tensors' channels-last rows and the primitive's layout.
struct ConvBand {
  Executable conv;  // run({src, dst}), weights and bias bound
  // NHWC rows -> src layout, dst layout -> NHWC rows, residual rows -> dst layout (for the sum post-op).
  Reorder src, dst, residual;
  // Bytes from an image's start to the band's first input row and first output row.
  size_t src_offset = 0, dst_offset = 0;
};

// Makes `band`'s primitive and reorders ready for `runs` threads running it at once without allocating (bands
// of the same shape share one primitive).
inline void reserve_concurrent_runs(const ConvBand& band, int runs) {
  band.conv.reserve_concurrent_runs(runs);
  band.src.reserve_concurrent_runs(runs);
  band.dst.reserve_concurrent_runs(runs);
  band.residual.reserve_concurrent_runs(runs);
}

// Runs one band of one image on the calling thread: x, y and the residual z (null without one) point at the
// image's NHWC tensors, which the band reads and writes at its offsets.
void run_band(const ConvBand& band, const char* x, char* y, const char* z);

// Runs every band of every image on a team of `threads` (one band at a time per thread, each on one thread):
// x, y and the residual z (null without one; it is summed into y by the primitive's post-op) are NHWC.
void run_row_bands(const std::vector<ConvBand>& bands, int64_t images, size_t x_image_bytes,
                   size_t y_image_bytes, const void* x, void* y, const void* z, int threads);

}  // namespace kestrel::cpu::dnnl_backend
