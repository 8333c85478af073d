// memcpy for blocks that are often a few dozen bytes (one channels-last pixel of int8 channels: 24 bytes in
// ppocr_det), inline: up to 64 bytes as two copies of a power of two that overlap in the middle (as libc does
// inside its call), so that such a block costs a few instructions instead of a call; larger ones call memcpy.
#pragma once

#include <cstddef>
#include <cstring>

namespace kestrel::cpu::fast {

template <size_t kSize>
inline void copy_overlapping_pair(char* dst, const char* src, size_t n) {
  char head[kSize], tail[kSize];
  std::memcpy(head, src, kSize);
  std::memcpy(tail, src + n - kSize, kSize);
  std::memcpy(dst, head, kSize);
  std::memcpy(dst + n - kSize, tail, kSize);
}

inline void copy_block(char* dst, const char* src, size_t n) {
  if (n > 64)
    std::memcpy(dst, src, n);
  else if (n >= 32)
    copy_overlapping_pair<32>(dst, src, n);
  else if (n >= 16)
    copy_overlapping_pair<16>(dst, src, n);
  else if (n >= 8)
    copy_overlapping_pair<8>(dst, src, n);
  else if (n >= 4)
    copy_overlapping_pair<4>(dst, src, n);
  else
    std::memcpy(dst, src, n);
}

}  // namespace kestrel::cpu::fast
