// An output shape built on the stack for KernelContext::allocate_output_dims, so a kernel's run builds no Shape.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace kestrel::runtime {

// Up to kCapacity dims: kernels whose output rank may exceed it build a Shape instead.
struct InlineShape {
  static constexpr size_t kCapacity = 8;
  int64_t dims[kCapacity] = {};
  size_t rank = 0;

  InlineShape() = default;
  explicit InlineShape(std::span<const int64_t> from) : rank(from.size()) {
    for (size_t i = 0; i < rank; ++i) dims[i] = from[i];
  }
  void push_back(int64_t d) { dims[rank++] = d; }
  int64_t& operator[](size_t i) { return dims[i]; }
  int64_t operator[](size_t i) const { return dims[i]; }
  size_t size() const { return rank; }
  std::span<const int64_t> span() const { return {dims, rank}; }
};

}  // namespace kestrel::runtime
