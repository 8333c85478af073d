// SiLU (x * sigmoid(x)) over a float buffer in place, fast: what the oneDNN FusedConv applies after its
// convolution instead of oneDNN's swish post-op, which costs about twice as much per element.
#pragma once

#include <cstdint>

namespace kestrel::cpu::fast {

// sigmoid(x) = (1 + tanh(x/2)) / 2 with tanh a rational fit on [-9, 9] (clamped beyond: tanh(9) is 1 - 3e-8):
// absolute error below 3e-7 on sigmoid, so x * sigmoid(x) is within 3e-7 |x| of the exact value. NaN stays
// NaN. 16 lanes at a time (AVX-512, AVX2 or baseline, picked at start-up); split over `threads` when large.
void silu_in_place(float* data, int64_t n, int threads);

}  // namespace kestrel::cpu::fast
