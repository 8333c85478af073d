// The lane mask for the last, possibly partial, vector of 16 lanes of a loop over n elements.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace kestrel::cpu::fast {

// The first min(left, 16) lanes.
inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
}

}  // namespace kestrel::cpu::fast
