// The weights of oneDNN's F(4x4, 3x3) Winograd convolution, made from plain 3x3 float weights at session
// creation. oneDNN's own reorder reads each output channel's kernels with a stride of a whole row of weights
// and goes through a scratch copy of the whole result (4.6 MB for a 128x128 convolution): in resnet18 at one
// thread its seven Winograd weights took 10-14 ms of a 40 ms creation. Here a block of output channels is
// read kernel by kernel, transformed side by side and written straight to its place: 0.19 ms for a 64x64
// weight (oneDNN 1.0), 0.77 ms for a 128x128 one (3.2). The layout (wino_wei_OBaaIBOIio) and the transform
// matrix are oneDNN 2.x's; the unit test compares every value with oneDNN's reorder.
#pragma once

#include "oneapi/dnnl/dnnl.hpp"

namespace kestrel::cpu::dnnl_backend {

// True when `want` is the f32 F(4x4, 3x3) Winograd layout and `plain` the f32 OIHW 3x3 weights it is made
// from.
bool makes_winograd_weights(const dnnl::memory::desc& plain, const dnnl::memory::desc& want);

// Transforms the weights at `data` (laid out as `plain`, any address: read with memcpy only) into `dst`
// (layout `want`, every byte written), output channel blocks split over a team of `threads`. Requires
// makes_winograd_weights(plain, want).
void make_winograd_weights(const dnnl::memory::desc& plain, const void* data, const dnnl::memory::desc& want,
                           void* dst, int threads);

}  // namespace kestrel::cpu::dnnl_backend
