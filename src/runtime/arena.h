// A session's memory arena: blocks freed by one run are kept and handed to later allocations of the same size
// class, so steady-state runs neither call the system allocator nor fault in fresh pages. The cache never holds
// more than kCacheLimit times the largest amount a single run had in use at once, so it cannot grow without
// bound; over it, the blocks idle longest are freed first. (A run uses more distinct blocks than its peak: a
// block is reused only by tensors of its size class, so with a cap of 1x the peak, zoo models such as
// efficientnet_b0 and mobilenet_v2 missed the cache, and called malloc, on every run.)
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "runtime/control_block_pool.h"

namespace kestrel::runtime {

class Arena {
 public:
  static constexpr size_t kCacheLimit = 3;

  Arena();
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  // A block of at least `bytes` bytes, 64-byte aligned, zero-filled when asked; it returns to the arena when
  // released.
  std::shared_ptr<void> allocate(size_t bytes, bool zero_fill = true);
  // Bytes currently cached (free) and the peak in use, for tests and `kestrel bench`.
  size_t cached_bytes() const;
  size_t peak_in_use_bytes() const;
  // Frees every cached block back to the system.
  void shrink();

  struct State;

 private:
  std::shared_ptr<State> state_;  // shared with the deleters of blocks still in flight
  // The shared_ptr control blocks of handed-out blocks, recycled too, so a steady-state allocation makes no heap
  // call at all.
  std::shared_ptr<ControlBlockPool> control_blocks_;
};

// Returns freed heap memory to the operating system (used after runs when the arena is off).
void release_free_memory();

}  // namespace kestrel::runtime
